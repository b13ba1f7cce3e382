using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Vigie.Stack;
using Vigie.Testing;

namespace Vigie.Tests.Reliability;

/// <summary>
/// No single request grows the app by more than <see cref="BudgetBytes"/>, whatever its size or shape: the app runs as a
/// process of its own under the heap limit that mirrors its container's 512 MB, and its resident memory is read from
/// /proc before each hostile request and at its peak during it (VmHWM, reset before the request). The process must
/// still answer <c>/health/ready</c> afterwards: in Compose a container over its limit is killed.
/// </summary>
[NonParallelizable]
public sealed partial class MemoryBudgetTests
{
    /// <summary>What one request may add to the process's resident memory.</summary>
    private const long BudgetBytes = 64L * 1024 * 1024;

    /// <summary>The web container's memory limit in docker-compose.yml: a process that goes over it is killed.</summary>
    private const long ContainerLimitBytes = 512L * 1024 * 1024;

    /// <summary>448 MiB of managed heap leaves the runtime and native libraries 64 MiB of the container's 512 MiB.</summary>
    private const string HeapHardLimit = "0x1C000000";

    private const string Header = "bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g";
    private const int MaxUploadBytes = 5 * 1024 * 1024;

    /// <summary>The default row cap (<c>Batch:MaxRows</c>).</summary>
    private const int MaxRows = 200_000;

    /// <summary>The default number of rejections stored and reported (<c>Batch:MaxStoredRejections</c>).</summary>
    private const int MaxStoredRejections = 1_000;

    private static readonly List<string> Figures = [];

    private PostgresCluster _cluster = null!;
    private AppProcess _app = null!;

    /// <summary>One cluster for the fixture: each test runs its own app on it, so no case inherits a heap another one grew.</summary>
    [OneTimeSetUp]
    public async Task StartDatabaseAsync() => _cluster = await IsolatedApp.NewClusterAsync();

    [SetUp]
    public async Task StartAppAsync()
    {
        _app = await AppProcess.StartAsync(Infrastructure.RepositoryRoot, Infrastructure.BuildConfiguration, _cluster.AppConnectionString,
            new Dictionary<string, string> { ["DOTNET_GCHeapHardLimit"] = HeapHardLimit });

        // Every path once, so what the measured requests add is their data, not the code the runtime compiles on first use.
        var (_, report) = await PostBatchAsync(ValidRows(200));
        var batchId = report.GetProperty("batchId").GetGuid();
        await DownloadLineCountAsync(batchId);
        using var client = Client();
        (await client.GetAsync(new Uri($"/Batch?id={batchId}", UriKind.Relative))).Dispose();
        (await client.GetAsync(new Uri("/api/predictions?limit=200", UriKind.Relative))).Dispose();
        (await client.GetAsync(new Uri("/History", UriKind.Relative))).Dispose();
        (await client.PostAsync(new Uri("/api/predictions", UriKind.Relative), new StringContent("{}", Encoding.UTF8, "application/json"))).Dispose();
    }

    [TearDown]
    public void StopApp() => _app?.Dispose();

    [OneTimeTearDown]
    public void StopDatabase()
    {
        TestContext.Progress.WriteLine("Resident memory added by one request (budget 64 MB, heap limit " + HeapHardLimit + "):");
        foreach (var figure in Figures)
        {
            TestContext.Progress.WriteLine("  " + figure);
        }
        _cluster?.Dispose();
    }

    [Test]
    public async Task The_five_megabytes_of_one_column_lines_of_the_issue_are_refused_413_by_the_api_and_store_nothing_within_the_budget()
    {
        var batches = await _cluster.ScalarAsync("SELECT count(*) FROM batches");
        var rejections = await _cluster.ScalarAsync("SELECT count(*) FROM batch_rejections");
        var csv = OneColumnLinesFillingTheLimit();

        var (response, problem) = await MeasureAsync($"API upload, {csv.Length / 2:N0} one-column lines (5 MB)", () => PostBatchAsync(csv));

        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge), problem.ToString());
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(problem.GetProperty("detail").GetString(), Does.Contain(MaxRows.ToString("N0", CultureInfo.InvariantCulture)));
            Assert.That(await _cluster.ScalarAsync("SELECT count(*) FROM batches"), Is.EqualTo(batches));
            Assert.That(await _cluster.ScalarAsync("SELECT count(*) FROM batch_rejections"), Is.EqualTo(rejections));
        });
    }

    [Test]
    public async Task The_five_megabytes_of_one_column_lines_through_the_batch_page_are_refused_413_beside_the_field_within_the_budget()
    {
        var cookies = new CookieContainer();
        using var client = Client(cookies);
        var html = await client.GetStringAsync(new Uri("/Batch", UriKind.Relative));
        var batches = await _cluster.ScalarAsync("SELECT count(*) FROM batches");
        var csv = OneColumnLinesFillingTheLimit();
        using var form = new MultipartFormDataContent
        {
            { new StringContent(TokenField().Match(html).Groups[1].Value), "__RequestVerificationToken" },
            { File(csv), "Upload", "lines.csv" },
        };

        var (status, page) = await MeasureAsync("Batch page upload, the same 5 MB", async () =>
        {
            using var response = await client.PostAsync(new Uri("/Batch", UriKind.Relative), form);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        });

        Assert.Multiple(async () =>
        {
            Assert.That(status, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
            Assert.That(page, Does.Contain("data-testid=\"error-file\"").And.Contain(MaxRows.ToString("N0", CultureInfo.InvariantCulture)));
            Assert.That(await _cluster.ScalarAsync("SELECT count(*) FROM batches"), Is.EqualTo(batches));
        });
    }

    [Test]
    public async Task A_batch_of_rejected_lines_up_to_the_row_cap_stores_the_first_rejections_and_counts_the_rest_within_the_budget()
    {
        var csv = Encoding.ASCII.GetBytes(Header + "\n" + string.Concat(Enumerable.Repeat("1\n", MaxRows)));

        var (response, report) = await MeasureAsync($"API upload, {MaxRows:N0} rejected lines", () => PostBatchAsync(csv));
        var batchId = report.GetProperty("batchId").GetGuid();
        var page = await MeasureAsync("Batch report page of that batch", async () =>
        {
            using var client = Client();
            return await client.GetStringAsync(new Uri($"/Batch?id={batchId}", UriKind.Relative));
        });

        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), report.ToString());
            Assert.That(report.GetProperty("rejected").GetInt32(), Is.EqualTo(MaxRows));
            Assert.That(report.GetProperty("errors").GetArrayLength(), Is.EqualTo(MaxStoredRejections));
            Assert.That(report.GetProperty("rejectionsOmitted").GetInt32(), Is.EqualTo(MaxRows - MaxStoredRejections));
            Assert.That(await _cluster.ScalarAsync($"SELECT count(*) FROM batch_rejections WHERE batch_id = '{batchId}'"), Is.EqualTo(MaxStoredRejections));
            Assert.That(await _cluster.ScalarAsync($"SELECT rejected_rows FROM batches WHERE id = '{batchId}'"), Is.EqualTo(MaxRows));
            Assert.That(page, Does.Contain(string.Create(CultureInfo.InvariantCulture, $"data-testid=\"rejections-omitted\">{MaxRows - MaxStoredRejections:N0} more rejected lines")));
        });
    }

    [Test]
    public async Task A_full_batch_at_the_row_cap_and_its_results_download_stay_within_the_budget()
    {
        var csv = ValidRows(MaxRows);

        var (response, report) = await MeasureAsync($"API upload, {MaxRows:N0} valid rows ({csv.Length / 1048576.0:F1} MB)", () => PostBatchAsync(csv));
        var batchId = report.GetProperty("batchId").GetGuid();
        var lines = await MeasureAsync($"results.csv of those {MaxRows:N0} rows", () => DownloadLineCountAsync(batchId));

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), report.ToString());
            Assert.That(report.GetProperty("accepted").GetInt32(), Is.EqualTo(MaxRows));
            Assert.That(lines, Is.EqualTo(MaxRows + 1), "the header and every row");
        });
    }

    [Test]
    public async Task The_largest_history_pages_stay_within_the_budget()
    {
        var status = await MeasureAsync("GET /api/predictions?limit=200", async () =>
        {
            using var client = Client();
            using var response = await client.GetAsync(new Uri("/api/predictions?limit=200", UriKind.Relative));
            return response.StatusCode;
        });
        var page = await MeasureAsync("GET /History", async () =>
        {
            using var client = Client();
            using var response = await client.GetAsync(new Uri("/History?channel=batch", UriKind.Relative));
            return response.StatusCode;
        });
        Assert.That((status, page), Is.EqualTo((HttpStatusCode.OK, HttpStatusCode.OK)));
    }

    [TestCase("a string", "{\"billLengthMm\":\"", "x", "\"}")]
    [TestCase("an array", "{\"billLengthMm\":[", "1,", "1]}")]
    [TestCase("nesting", "{\"note\":", "[", "")]
    [TestCase("unknown properties", "{", "\"a\":1,", "\"b\":1}")]
    public async Task A_json_body_of_the_upload_size_is_refused_413_within_the_budget(string shape, string prefix, string repeated, string suffix)
    {
        var count = (MaxUploadBytes - prefix.Length - suffix.Length) / repeated.Length;
        var body = prefix + string.Concat(Enumerable.Repeat(repeated, count)) + suffix;
        var before = await _cluster.ScalarAsync("SELECT count(*) FROM predictions");

        // Sent raw: the answer may come while the body is still going, which HttpClient reports as a failed send.
        var bytes = Encoding.UTF8.GetBytes(body);
        var answer = await MeasureAsync($"POST /api/predictions, {body.Length / 1048576.0:F1} MB JSON of {shape}", () => RawHttp.SendAsync(_app.Url.Port,
            $"POST /api/predictions HTTP/1.1\r\nHost: 127.0.0.1:{_app.Url.Port}\r\nContent-Type: application/json\r\nContent-Length: {bytes.Length}",
            (stream, cancellationToken) => stream.WriteAsync(bytes, cancellationToken).AsTask(), TimeSpan.FromSeconds(60)));

        Assert.Multiple(async () =>
        {
            Assert.That(answer.Status, Is.EqualTo(413), "a prediction's body is limited far below an upload's");
            Assert.That(answer.MediaType, Is.EqualTo("application/problem+json"));
            Assert.That(await _cluster.ScalarAsync("SELECT count(*) FROM predictions"), Is.EqualTo(before));
        });
    }

    /// <summary>
    /// Runs <paramref name="request"/> and fails unless the app's resident memory stayed within the budget of what it was
    /// before and the app still answers <c>/health/ready</c>.
    /// </summary>
    private async Task<T> MeasureAsync<T>(string name, Func<Task<T>> request)
    {
        var before = _app.ResidentBytes;
        _app.ResetPeak();
        T result;
        try
        {
            result = await request();
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
        {
            Figures.Add($"{name}: no answer ({ex.GetType().Name}); app {(_app.Process.HasExited ? "exited" : "running")}");
            Assert.Fail($"{name}: no answer ({ex.Message}); the app {(_app.Process.HasExited ? "exited" : "is running")}:\n{_app.Process.Tail()}");
            throw;
        }
        var peak = _app.PeakResidentBytes;
        var grown = peak - before;
        Figures.Add(string.Create(CultureInfo.InvariantCulture, $"{name}: +{grown / 1048576.0:F1} MB (RSS {before / 1048576.0:F0} -> peak {peak / 1048576.0:F0} MB)"));
        TestContext.Out.WriteLine(Figures[^1]);

        var ready = await ReadyAsync();
        Assert.Multiple(() =>
        {
            Assert.That(_app.Process.HasExited, Is.False, $"{name}: the app exited:\n{_app.Process.Tail()}");
            Assert.That(ready, Is.EqualTo(HttpStatusCode.OK), $"{name}: /health/ready afterwards");
            Assert.That(peak, Is.LessThan(ContainerLimitBytes), $"{name}: {peak / 1048576.0:F0} MB resident, over the container's limit");
            Assert.That(grown, Is.LessThanOrEqualTo(BudgetBytes), $"{name}: resident memory grew by {grown / 1048576.0:F1} MB");
        });
        return result;
    }

    /// <summary>The status of <c>/health/ready</c>, or null when the app does not answer.</summary>
    private async Task<HttpStatusCode?> ReadyAsync()
    {
        using var client = Client();
        try
        {
            using var ready = await client.GetAsync(new Uri("/health/ready", UriKind.Relative));
            return ready.StatusCode;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    private HttpClient Client(CookieContainer? cookies = null) =>
        new(new SocketsHttpHandler { UseCookies = cookies is not null, CookieContainer = cookies ?? new CookieContainer(), AllowAutoRedirect = false })
        {
            BaseAddress = _app.Url,
            Timeout = TimeSpan.FromMinutes(3),
        };

    private static ByteArrayContent File(byte[] csv)
    {
        var file = new ByteArrayContent(csv);
        file.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        return file;
    }

    private async Task<(HttpResponseMessage Response, JsonElement Body)> PostBatchAsync(byte[] csv)
    {
        using var client = Client();
        using var form = new MultipartFormDataContent { { File(csv), "file", "upload.csv" } };
        var response = await client.PostAsync(new Uri("/api/predictions/batch", UriKind.Relative), form);
        var text = await response.Content.ReadAsStringAsync();
        return (response, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    /// <summary>Reads the results CSV as it streams in, keeping only the count of its lines.</summary>
    private async Task<int> DownloadLineCountAsync(Guid batchId)
    {
        using var client = Client();
        using var response = await client.GetAsync(new Uri($"/api/batches/{batchId}/results.csv", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var lines = 0;
        while (await reader.ReadLineAsync() is not null)
        {
            lines++;
        }
        return lines;
    }

    /// <summary>The issue's upload: a valid header, then lines of <c>1</c> up to the upload limit.</summary>
    private static byte[] OneColumnLinesFillingTheLimit() =>
        Encoding.ASCII.GetBytes(Header + "\n" + string.Concat(Enumerable.Repeat("1\n", (MaxUploadBytes - Header.Length - 1024) / 2)));

    private static byte[] ValidRows(int count)
    {
        var random = new Random(13);
        var csv = new StringBuilder(Header).Append('\n');
        for (var i = 0; i < count; i++)
        {
            csv.Append(CultureInfo.InvariantCulture, $"{random.Next(350, 550) / 10.0},{random.Next(140, 200) / 10.0},{random.Next(175, 230)},{random.Next(3000, 6000)}\n");
        }
        return Encoding.ASCII.GetBytes(csv.ToString());
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex TokenField();
}
