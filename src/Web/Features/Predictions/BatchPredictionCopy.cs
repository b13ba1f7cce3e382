using System.Buffers;
using System.Buffers.Binary;
using System.Data;
using System.Text;
using Npgsql;
using Vigie.Web.Classifier;

namespace Vigie.Web.Features.Predictions;

/// <summary>
/// A batch's predictions on their way into <c>predictions</c>: each row is laid out here in PostgreSQL's binary COPY
/// format (a field count, then each value as its length and its big-endian bytes) and the rows go out in chunks of
/// <see cref="ChunkBytes"/> through Npgsql's raw binary COPY. Npgsql's row importer resolves a type handler, binds a
/// parameter and awaits a write for each of a row's 16 values, which was a third or more of the app's CPU for a
/// 100,000-row upload; here a row is a few writes into one buffer. Disposed before <see cref="CompleteAsync"/>, the
/// COPY is cancelled: nothing of it is stored, and the caller's transaction can only roll back.
/// </summary>
public sealed class BatchPredictionCopy : IAsyncDisposable
{
    /// <summary>Rows are sent once this many bytes are buffered: a few hundred rows per network write.</summary>
    private const int ChunkBytes = 64 * 1024;

    /// <summary>
    /// The fields of a row: the measurements, species, confidence, the probabilities, then channel, model_version,
    /// ood_score, ood_features, batch_id, batch_line and batch_extra_values.
    /// </summary>
    private static readonly short FieldCount = (short)(Measurement.All.Count + 2 + Species.All.Count + 7);

    /// <summary>PostgreSQL's OID of <c>text</c>, which the elements of <c>batch_extra_values</c> declare.</summary>
    private const int TextOid = 25;

    // The binary COPY header: its signature, no flags, no header extension.
    private static ReadOnlySpan<byte> Header => [(byte)'P', (byte)'G', (byte)'C', (byte)'O', (byte)'P', (byte)'Y', (byte)'\n', 0xFF, (byte)'\r', (byte)'\n', 0, 0, 0, 0, 0, 0, 0, 0, 0];

    private static readonly byte[][] SpeciesNames = Species.All.Select(Encoding.UTF8.GetBytes).ToArray();

    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlRawCopyStream _stream;
    private readonly byte[] _batchId = new byte[16];
    private readonly byte[] _channel = Encoding.UTF8.GetBytes(Channels.Batch);
    private readonly byte[] _modelVersion;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes * 2);
    private int _used;
    private bool _completed;

    private BatchPredictionCopy(NpgsqlConnection connection, NpgsqlRawCopyStream stream, Guid batchId, string modelVersion)
    {
        _connection = connection;
        _stream = stream;
        batchId.TryWriteBytes(_batchId, bigEndian: true, out _);
        _modelVersion = Encoding.UTF8.GetBytes(modelVersion);
        Header.CopyTo(Reserve(Header.Length));
        _used = Header.Length;
    }

    /// <summary>Starts the COPY of batch <paramref name="batchId"/>'s rows, scored by <paramref name="modelVersion"/>, on <paramref name="connection"/>.</summary>
    public static async Task<BatchPredictionCopy> BeginAsync(NpgsqlConnection connection, Guid batchId, string modelVersion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(modelVersion);
        var stream = await connection.BeginRawBinaryCopyAsync($"COPY predictions ({PredictionStore.BatchCopyColumns}) FROM STDIN (FORMAT BINARY)", cancellationToken);
        return new BatchPredictionCopy(connection, stream, batchId, modelVersion);
    }

    /// <summary>Adds the row of upload line <paramref name="line"/>; sends the buffered rows once they fill a chunk.</summary>
    public ValueTask WriteAsync(int line, Measurements measurements, string[] extraValues, SpeciesPrediction result, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(extraValues);
        ArgumentNullException.ThrowIfNull(result);
        BinaryPrimitives.WriteInt16BigEndian(Reserve(sizeof(short)), FieldCount);
        _used += sizeof(short);
        foreach (var measurement in Measurement.All)
        {
            WriteDouble(measurement.Read(measurements));
        }
        WriteBytes(SpeciesNames[Species.IndexOf(result.Species)]);
        WriteDouble(result.Confidence);
        foreach (var species in Species.All)
        {
            WriteDouble(result.Probabilities[species]);
        }
        WriteBytes(_channel);
        WriteBytes(_modelVersion);
        WriteDouble(result.OutOfDistribution.Score);
        WriteText(PredictionStore.OutOfRangeColumns(result.OutOfDistribution));
        WriteBytes(_batchId);
        WriteInt32(line);
        // Without extra columns the value is NULL rather than an empty array: a bit in the row instead of ~20 bytes.
        WriteTextArray(extraValues.Length == 0 ? null : extraValues);
        return _used >= ChunkBytes ? SendAsync(cancellationToken) : ValueTask.CompletedTask;
    }

    /// <summary>Sends the last rows and ends the COPY; PostgreSQL has then checked and stored every row.</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken)
    {
        // The trailer: a field count of -1.
        BinaryPrimitives.WriteInt16BigEndian(Reserve(sizeof(short)), -1);
        _used += sizeof(short);
        await SendAsync(cancellationToken);
        _completed = true;
        await _stream.DisposeAsync();
    }

    /// <summary>
    /// Cancels the COPY unless it was completed, and returns the buffer. A connection broken on the way (the database
    /// gone) has ended the COPY already, and goes back to the pool to be discarded.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_completed && _connection.State == ConnectionState.Open)
            {
                await _stream.CancelAsync();
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }

    private async ValueTask SendAsync(CancellationToken cancellationToken)
    {
        await _stream.WriteAsync(_buffer.AsMemory(0, _used), cancellationToken);
        _used = 0;
    }

    private void WriteDouble(double value)
    {
        var field = Reserve(4 + sizeof(double));
        BinaryPrimitives.WriteInt32BigEndian(field, sizeof(double));
        BinaryPrimitives.WriteDoubleBigEndian(field[4..], value);
        _used += field.Length;
    }

    private void WriteInt32(int value)
    {
        var field = Reserve(4 + sizeof(int));
        BinaryPrimitives.WriteInt32BigEndian(field, sizeof(int));
        BinaryPrimitives.WriteInt32BigEndian(field[4..], value);
        _used += field.Length;
    }

    private void WriteBytes(ReadOnlySpan<byte> value)
    {
        var field = Reserve(4 + value.Length);
        BinaryPrimitives.WriteInt32BigEndian(field, value.Length);
        value.CopyTo(field[4..]);
        _used += field.Length;
    }

    private void WriteText(string? value)
    {
        if (value is null)
        {
            WriteNull();
            return;
        }
        var length = Encoding.UTF8.GetByteCount(value);
        var field = Reserve(4 + length);
        BinaryPrimitives.WriteInt32BigEndian(field, length);
        Encoding.UTF8.GetBytes(value, field[4..]);
        _used += field.Length;
    }

    // A one-dimensional text[]: dimensions, a has-nulls flag, the element type, the length and lower bound (1), then
    // each element as a field of its own.
    private void WriteTextArray(string?[]? values)
    {
        if (values is null)
        {
            WriteNull();
            return;
        }
        var start = _used;
        var header = Reserve(4 + 20);
        BinaryPrimitives.WriteInt32BigEndian(header[4..], 1);
        BinaryPrimitives.WriteInt32BigEndian(header[8..], values.Contains(null) ? 1 : 0);
        BinaryPrimitives.WriteInt32BigEndian(header[12..], TextOid);
        BinaryPrimitives.WriteInt32BigEndian(header[16..], values.Length);
        BinaryPrimitives.WriteInt32BigEndian(header[20..], 1);
        _used += header.Length;
        foreach (var value in values)
        {
            WriteText(value);
        }
        BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(start), _used - start - 4);
    }

    private void WriteNull()
    {
        BinaryPrimitives.WriteInt32BigEndian(Reserve(4), -1);
        _used += 4;
    }

    /// <summary>
    /// The next <paramref name="bytes"/> of the buffer, grown when a row does not fit in what is left: a safeguard, as
    /// BatchCsv's limits (20 extra values of 1,000 characters) keep an upload's rows far below a chunk. The caller
    /// advances <see cref="_used"/> once it has written them.
    /// </summary>
    private Span<byte> Reserve(int bytes)
    {
        if (_used + bytes > _buffer.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _used + bytes));
            _buffer.AsSpan(0, _used).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }
        return _buffer.AsSpan(_used, bytes);
    }
}
