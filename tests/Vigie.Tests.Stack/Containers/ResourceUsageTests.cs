using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Vigie.Testing;

namespace Vigie.Tests.Stack.Containers;

/// <summary>
/// What each container really uses under a short load, from <c>docker stats</c>: within its limit, and written to
/// artifacts/container-stats.md (the README's resource table quotes a run of it).
/// </summary>
[Order(2)]
public sealed class ResourceUsageTests
{
    private static ContainerStack Stack => ContainerStackSetUp.Stack;

    [Test]
    public async Task Under_a_short_load_every_container_stays_within_its_memory_limit()
    {
        using var load = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var requests = Enumerable.Range(0, 8).Select(worker => LoadAsync(worker, load.Token)).ToList();
        var peaks = new Dictionary<string, (double Used, double Limit, double Cpu)>();
        while (!load.IsCancellationRequested)
        {
            var stats = await ProcessRunner.RunAsync("docker", ["stats", "--no-stream", "--format", "{{json .}}"], timeout: TimeSpan.FromSeconds(30));
            Assert.That(stats.ExitCode, Is.Zero, stats.All);
            foreach (var line in stats.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var row = JsonDocument.Parse(line).RootElement;
                var name = row.GetProperty("Name").GetString()!;
                var service = ContainerStack.Services.FirstOrDefault(s => name.Contains("_" + s + "_", StringComparison.Ordinal) || name.Contains("-" + s + "-", StringComparison.Ordinal));
                if (service is null)
                {
                    continue;
                }
                var usage = row.GetProperty("MemUsage").GetString()!.Split('/');
                var (used, limit) = (Bytes(usage[0]), Bytes(usage[1]));
                var cpu = double.Parse(row.GetProperty("CPUPerc").GetString()!.TrimEnd('%'), CultureInfo.InvariantCulture);
                var peak = peaks.GetValueOrDefault(service);
                peaks[service] = (Math.Max(peak.Used, used), limit, Math.Max(peak.Cpu, cpu));
            }
        }
        var served = (await Task.WhenAll(requests)).Sum();

        var table = new StringBuilder($"| Service | Peak memory (MiB) | Limit (MiB) | Peak CPU (%) |\n|---|---|---|---|\n");
        foreach (var (service, peak) in peaks.OrderBy(p => Array.IndexOf(ContainerStack.Services, p.Key)))
        {
            table.Append(CultureInfo.InvariantCulture, $"| {service} | {peak.Used / (1 << 20):F1} | {peak.Limit / (1 << 20):F0} | {peak.Cpu:F1} |\n");
        }
        table.Append(CultureInfo.InvariantCulture, $"\n{served} requests (predictions and reads) in 30 s from 8 clients; docker stats sampled during the load, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC.\n");
        var artifacts = Path.Combine(Infrastructure.RepositoryRoot, "artifacts");
        Directory.CreateDirectory(artifacts);
        await File.WriteAllTextAsync(Path.Combine(artifacts, "container-stats.md"), table.ToString());
        TestContext.Progress.WriteLine(table.ToString());

        Assert.That(peaks.Keys, Is.EquivalentTo(ContainerStack.Services), "docker stats reported every service");
        Assert.That(served, Is.GreaterThan(100), "the load reached the app");
        Assert.That(peaks.Where(p => p.Value.Used >= p.Value.Limit).Select(p => p.Key), Is.Empty, "containers at their memory limit");
    }

    private static async Task<int> LoadAsync(int worker, CancellationToken stop)
    {
        using var http = new HttpClient { BaseAddress = Stack.WebUrl, Timeout = TimeSpan.FromSeconds(10) };
        var served = 0;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                using var response = worker % 4 == 3
                    ? await http.GetAsync("/History", stop)
                    : await http.PostAsJsonAsync("/api/predictions", new { billLengthMm = 39 + worker, billDepthMm = 18.7, flipperLengthMm = 181 + served % 40, bodyMassG = 3750 }, stop);
                if (response.IsSuccessStatusCode)
                {
                    served++;
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                break;
            }
        }
        return served;
    }

    /// <summary>docker stats' sizes: <c>123.4MiB</c>, <c>1.2GiB</c>, <c>512kB</c>.</summary>
    private static double Bytes(string text)
    {
        text = text.Trim();
        var unit = new string(text.SkipWhile(c => char.IsDigit(c) || c == '.').ToArray());
        var number = double.Parse(text[..^unit.Length], CultureInfo.InvariantCulture);
        return number * unit switch
        {
            "KiB" => 1 << 10,
            "MiB" => 1 << 20,
            "GiB" => 1 << 30,
            "kB" => 1e3,
            "MB" => 1e6,
            "GB" => 1e9,
            _ => 1,
        };
    }
}
