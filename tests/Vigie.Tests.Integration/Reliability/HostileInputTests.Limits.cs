using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;

namespace Vigie.Tests.Reliability;

/// <summary>Bodies over the limit: refused with 413 while streaming, nothing stored, memory bounded.</summary>
public sealed partial class HostileInputTests
{
    private const long FiftyMegabytes = 50L * 1024 * 1024;

    private string Head(string method, string path, string contentType, string? extra = null) =>
        $"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{App.Port}\r\nContent-Type: {contentType}\r\n{(extra is null ? "" : extra + "\r\n")}Transfer-Encoding: chunked";

    [Test]
    public async Task A_json_body_over_the_limit_gets_413_problem_json_and_stores_nothing()
    {
        var before = await App.CountAsync();
        var answer = await RawHttp.SendAsync(App.Port!.Value, Head("POST", "/api/predictions", "application/json"),
            RawHttp.Chunked("{\"billLengthMm\":39.1,\"billDepthMm\":18.7,\"flipperLengthMm\":181,\"bodyMassG\":3750,\"note\":\""u8.ToArray(), 6 * 1024 * 1024, (byte)'x', "\"}"u8.ToArray()),
            TimeSpan.FromSeconds(30));
        Assert.Multiple(async () =>
        {
            Assert.That(answer.Status, Is.EqualTo(413), answer.Body);
            Assert.That(answer.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(await App.CountAsync(), Is.EqualTo(before));
        });
    }

    [Test]
    public async Task An_upload_over_the_limit_through_the_batch_page_gets_413_and_stores_nothing()
    {
        var cookies = new CookieContainer();
        using var client = Client(cookies);
        var html = await client.GetStringAsync(new Uri("/Batch", UriKind.Relative));
        var token = TokenField().Match(html).Groups[1].Value;
        var cookie = cookies.GetCookieHeader(client.BaseAddress!);
        const string boundary = "----vigie-test-boundary";
        var prefix = Encoding.ASCII.GetBytes(
            $"--{boundary}\r\nContent-Disposition: form-data; name=\"__RequestVerificationToken\"\r\n\r\n{token}\r\n" +
            $"--{boundary}\r\nContent-Disposition: form-data; name=\"Upload\"; filename=\"big.csv\"\r\nContent-Type: text/csv\r\n\r\n{Header}\n");
        var before = await App.CountAsync();
        var batches = await BatchCountAsync();
        var answer = await RawHttp.SendAsync(App.Port!.Value, Head("POST", "/Batch", $"multipart/form-data; boundary={boundary}", $"Cookie: {cookie}"),
            RawHttp.Chunked(prefix, 6 * 1024 * 1024, (byte)'1', Encoding.ASCII.GetBytes($"\r\n--{boundary}--\r\n")), TimeSpan.FromSeconds(30));
        Assert.Multiple(async () =>
        {
            Assert.That(answer.Status, Is.EqualTo(413), answer.Body);
            Assert.That(answer.MediaType, Is.EqualTo("text/html"));
            Assert.That(answer.Body, Does.Contain("too large").IgnoreCase);
            Assert.That(await App.CountAsync(), Is.EqualTo(before));
            Assert.That(await BatchCountAsync(), Is.EqualTo(batches));
        });
    }

    [Test]
    public async Task An_oversize_post_to_the_prediction_form_gets_413_and_stores_nothing()
    {
        var cookies = new CookieContainer();
        using var client = Client(cookies);
        var html = await client.GetStringAsync(new Uri("/", UriKind.Relative));
        var token = Uri.EscapeDataString(TokenField().Match(html).Groups[1].Value);
        var before = await App.CountAsync();
        var answer = await RawHttp.SendAsync(App.Port!.Value,
            Head("POST", "/", "application/x-www-form-urlencoded", $"Cookie: {cookies.GetCookieHeader(client.BaseAddress!)}"),
            RawHttp.Chunked(Encoding.ASCII.GetBytes($"__RequestVerificationToken={token}&Input.BillLengthMm=39.1&Input.BillDepthMm=18.7&Input.FlipperLengthMm=181&Input.BodyMassG=3750&padding="),
                6 * 1024 * 1024, (byte)'p', []), TimeSpan.FromSeconds(30));
        Assert.Multiple(async () =>
        {
            Assert.That(answer.Status, Is.EqualTo(413), answer.Body);
            Assert.That(answer.MediaType, Is.EqualTo("text/html"));
            Assert.That(await App.CountAsync(), Is.EqualTo(before));
        });
    }

    [TestCase("/api/predictions", "application/json")]
    [TestCase("/api/predictions/batch", "multipart/form-data; boundary=b")]
    public async Task Fifty_megabytes_streamed_in_chunks_are_cut_off_with_413_and_memory_stays_far_below_the_body_size(string path, string contentType)
    {
        var prefix = contentType.StartsWith("multipart", StringComparison.Ordinal)
            ? Encoding.ASCII.GetBytes($"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"huge.csv\"\r\nContent-Type: text/csv\r\n\r\n{Header}\n")
            : "{\"billLengthMm\":39.1,\"billDepthMm\":18.7,\"flipperLengthMm\":181,\"bodyMassG\":3750,\"note\":\""u8.ToArray();
        var before = await App.CountAsync();
        var batches = await BatchCountAsync();

        // The app runs in this process: what it allocates and holds while the body streams in shows up here.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        var workingSetBefore = process.WorkingSet64;
        var peakWorkingSet = workingSetBefore;
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                process.Refresh();
                peakWorkingSet = Math.Max(peakWorkingSet, process.WorkingSet64);
                await Task.Delay(20);
            }
        });
        var answer = await RawHttp.SendAsync(App.Port!.Value, Head("POST", path, contentType),
            RawHttp.Chunked(prefix, FiftyMegabytes, (byte)'7', "\r\n--b--\r\n"u8.ToArray()), TimeSpan.FromSeconds(60));
        await sampling.CancelAsync();
        await sampler;
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        var grown = peakWorkingSet - workingSetBefore;
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{path}: {answer.Status} after {answer.BodyBytesSent / 1048576.0:F1} MB sent in {answer.Elapsed.TotalSeconds:F1} s; allocated {allocated / 1048576.0:F1} MB, working set +{grown / 1048576.0:F1} MB"));

        Assert.Multiple(async () =>
        {
            Assert.That(answer.Status, Is.EqualTo(413), answer.Body);
            Assert.That(answer.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(answer.BodyBytesSent, Is.LessThan(FiftyMegabytes), "cut off before the whole body was sent");
            // The limit is 5 MB: whatever the server buffers is bounded by it, not by what the client sends.
            Assert.That(allocated, Is.LessThan(FiftyMegabytes / 4), "bytes allocated while the body streamed");
            Assert.That(grown, Is.LessThan(FiftyMegabytes / 4), "working-set growth while the body streamed");
            Assert.That(await App.CountAsync(), Is.EqualTo(before));
            Assert.That(await BatchCountAsync(), Is.EqualTo(batches));
        });
    }
}
