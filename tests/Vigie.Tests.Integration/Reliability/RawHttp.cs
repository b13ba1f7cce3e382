using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Vigie.Tests.Reliability;

/// <summary>
/// HTTP/1.1 over a plain socket, for what HttpClient cannot do: send a request body while reading an early answer (a
/// 413 that arrives while the upload is still going), trickle bytes, or see exactly when the server hangs up.
/// </summary>
internal static class RawHttp
{
    /// <summary>What came back: the status (0 when the server hung up without answering), headers and body.</summary>
    public sealed record Answer(int Status, IReadOnlyDictionary<string, string> Headers, string Body, TimeSpan Elapsed, long BodyBytesSent)
    {
        public string? MediaType => Headers.TryGetValue("content-type", out var type) ? type.Split(';')[0].Trim() : null;
    }

    /// <summary>
    /// Sends <paramref name="head"/> (request line and header lines, without the blank line that ends them; nothing when
    /// empty), then what <paramref name="writeBody"/> writes, stopping when the server answers or hangs up; returns the answer.
    /// </summary>
    public static async Task<Answer> SendAsync(int port, string head, Func<Stream, CancellationToken, Task>? writeBody, TimeSpan timeout)
    {
        var started = Stopwatch.GetTimestamp();
        using var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync("127.0.0.1", port);
        await using var stream = client.GetStream();
        using var deadline = new CancellationTokenSource(timeout);
        using var answered = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token);
        var counting = new CountingStream(stream);
        var reading = ReadAnswerAsync(stream, deadline.Token).ContinueWith(t =>
        {
            answered.Cancel();
            return t;
        }, TaskScheduler.Default).Unwrap();
        try
        {
            if (head.Length > 0)
            {
                await stream.WriteAsync(Encoding.ASCII.GetBytes(head.TrimEnd('\r', '\n') + "\r\n\r\n"), answered.Token);
            }
            if (writeBody is not null)
            {
                await writeBody(counting, answered.Token);
            }
            await stream.FlushAsync(answered.Token);
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException)
        {
            // The server answered (or hung up) before the body was sent: what it said is what matters.
        }
        var (status, headers, body) = await reading;
        return new Answer(status, headers, body, Stopwatch.GetElapsedTime(started), counting.Written);
    }

    /// <summary>
    /// Sends <paramref name="head"/> and <paramref name="bodyPart"/>, the start of a longer body the head promises, waits
    /// <paramref name="wait"/> while the server reads it, then hangs up without reading: a client that gave up. Returns
    /// how many bytes of an answer had arrived by then (0: the client got nothing).
    /// </summary>
    public static async Task<int> AbandonAsync(int port, string head, byte[] bodyPart, TimeSpan wait)
    {
        using var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync("127.0.0.1", port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.TrimEnd('\r', '\n') + "\r\n\r\n"));
        await stream.WriteAsync(bodyPart);
        await stream.FlushAsync();
        await Task.Delay(wait);
        var answered = client.Available;
        client.Close();
        return answered;
    }

    private static async Task<(int Status, Dictionary<string, string> Headers, string Body)> ReadAnswerAsync(Stream stream, CancellationToken cancellationToken)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int headerEnd;
        while ((headerEnd = IndexOf(buffer, "\r\n\r\n"u8)) < 0)
        {
            var read = await ReadSomeAsync(stream, chunk, cancellationToken);
            if (read == 0)
            {
                return (0, new Dictionary<string, string>(), string.Empty);
            }
            buffer.Write(chunk, 0, read);
        }
        var all = buffer.ToArray();
        var lines = Encoding.ASCII.GetString(all, 0, headerEnd).Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], CultureInfo.InvariantCulture);
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).Where(p => p.Length == 2)
            .GroupBy(p => p[0].Trim().ToLowerInvariant()).ToDictionary(g => g.Key, g => g.First()[1].Trim());
        var body = new MemoryStream();
        body.Write(all, headerEnd + 4, all.Length - headerEnd - 4);
        if (headers.TryGetValue("content-length", out var length))
        {
            var expected = long.Parse(length, CultureInfo.InvariantCulture);
            while (body.Length < expected)
            {
                var read = await ReadSomeAsync(stream, chunk, cancellationToken);
                if (read == 0)
                {
                    break;
                }
                body.Write(chunk, 0, read);
            }
        }
        else
        {
            // Chunked or close-delimited: read until the terminating chunk or the end of the connection.
            while (!(headers.TryGetValue("transfer-encoding", out var te) && te.Contains("chunked", StringComparison.OrdinalIgnoreCase) && IndexOf(body, "0\r\n\r\n"u8) >= 0))
            {
                var read = await ReadSomeAsync(stream, chunk, cancellationToken);
                if (read == 0)
                {
                    break;
                }
                body.Write(chunk, 0, read);
            }
            if (headers.TryGetValue("transfer-encoding", out var encoding) && encoding.Contains("chunked", StringComparison.OrdinalIgnoreCase))
            {
                body = Dechunk(body.ToArray());
            }
        }
        return (status, headers, Encoding.UTF8.GetString(body.ToArray()));
    }

    /// <summary>Reads what is there; a connection reset counts as the end.</summary>
    private static async Task<int> ReadSomeAsync(Stream stream, byte[] chunk, CancellationToken cancellationToken)
    {
        try
        {
            return await stream.ReadAsync(chunk, cancellationToken);
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static MemoryStream Dechunk(byte[] data)
    {
        var result = new MemoryStream();
        var position = 0;
        while (position < data.Length)
        {
            var lineEnd = Array.IndexOf(data, (byte)'\r', position);
            if (lineEnd < 0)
            {
                break;
            }
            var size = int.Parse(Encoding.ASCII.GetString(data, position, lineEnd - position).Split(';')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (size == 0)
            {
                break;
            }
            result.Write(data, lineEnd + 2, Math.Min(size, data.Length - lineEnd - 2));
            position = lineEnd + 2 + size + 2;
        }
        return result;
    }

    private static int IndexOf(MemoryStream stream, ReadOnlySpan<byte> value) =>
        stream.GetBuffer().AsSpan(0, (int)stream.Length).IndexOf(value);

    /// <summary>Writes <paramref name="data"/> one byte every <paramref name="interval"/>, as a slow client (or a slowloris attack) does.</summary>
    public static Func<Stream, CancellationToken, Task> Trickle(string data, TimeSpan interval) => async (stream, cancellationToken) =>
    {
        foreach (var b in Encoding.ASCII.GetBytes(data))
        {
            await stream.WriteAsync(new[] { b }, cancellationToken);
            await stream.FlushAsync(cancellationToken);
            await Task.Delay(interval, cancellationToken);
        }
    };

    /// <summary>Writes <paramref name="total"/> bytes as HTTP chunks of one reused buffer, after <paramref name="prefix"/> and before <paramref name="suffix"/>.</summary>
    public static Func<Stream, CancellationToken, Task> Chunked(byte[] prefix, long total, byte fill, byte[] suffix) => async (stream, cancellationToken) =>
    {
        var block = new byte[64 * 1024];
        Array.Fill(block, fill);
        await WriteChunkAsync(stream, prefix, prefix.Length, cancellationToken);
        for (var sent = 0L; sent < total; sent += block.Length)
        {
            await WriteChunkAsync(stream, block, (int)Math.Min(block.Length, total - sent), cancellationToken);
        }
        await WriteChunkAsync(stream, suffix, suffix.Length, cancellationToken);
        await stream.WriteAsync("0\r\n\r\n"u8.ToArray(), cancellationToken);
    };

    private static async Task WriteChunkAsync(Stream stream, byte[] data, int count, CancellationToken cancellationToken)
    {
        if (count == 0)
        {
            return;
        }
        await stream.WriteAsync(Encoding.ASCII.GetBytes(count.ToString("x", CultureInfo.InvariantCulture) + "\r\n"), cancellationToken);
        await stream.WriteAsync(data.AsMemory(0, count), cancellationToken);
        await stream.WriteAsync("\r\n"u8.ToArray(), cancellationToken);
    }

    /// <summary>Counts the bytes of the body written through it.</summary>
    private sealed class CountingStream(Stream inner) : Stream
    {
        public long Written { get; private set; }
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
            inner.Write(buffer, offset, count);
            Written += count;
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await inner.WriteAsync(buffer, cancellationToken);
            Written += buffer.Length;
        }
    }
}
