using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Vigie.Tests.Stack.Swarm;

/// <summary>
/// A steady prediction load through the load balancer: a few clients, each sending one prediction after another on a
/// kept-alive connection, until stopped (and at most for <see cref="MaxDuration"/>). Each prediction carries a mark of
/// its own in its body mass (3000 g plus a thousandth of a gram per request), so the rows of the table can be matched
/// to the requests: which acknowledged ones were stored, and how often.
/// </summary>
internal sealed class PredictionLoad : IAsyncDisposable
{
    private static readonly TimeSpan MaxDuration = TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<int, long> _acknowledged = new();
    private readonly ConcurrentQueue<string> _failures = new();
    private readonly CancellationTokenSource _stop = new(MaxDuration);
    private readonly HttpClient _http;
    private readonly Task[] _clients;
    private int _sent;
    private int _next;

    private PredictionLoad(Uri url, int clients)
    {
        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(10) }) { BaseAddress = url, Timeout = TimeSpan.FromSeconds(30) };
        _clients = Enumerable.Range(0, clients).Select(_ => Task.Run(RunAsync)).ToArray();
    }

    public static PredictionLoad Start(Uri url, int clients = 4) => new(url, clients);

    public int Sent => Volatile.Read(ref _sent);

    /// <summary>Requests answered 201, by mark, with the id the answer gave.</summary>
    public IReadOnlyDictionary<int, long> Acknowledged => _acknowledged;

    /// <summary>Requests not answered 201: the status or the error, and when.</summary>
    public IReadOnlyCollection<string> Failures => _failures;

    /// <summary>The body mass that marks request <paramref name="mark"/>.</summary>
    public static double Mass(int mark) => 3000 + (mark * 0.001);

    /// <summary>The mark of a stored body mass.</summary>
    public static int Mark(double mass) => (int)Math.Round((mass - 3000) * 1000);

    private async Task RunAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var mark = Interlocked.Increment(ref _next);
            Interlocked.Increment(ref _sent);
            try
            {
                using var response = await _http.PostAsJsonAsync("/api/predictions",
                    new { billLengthMm = 46.1, billDepthMm = 13.2, flipperLengthMm = 211, bodyMassG = Mass(mark) });
                if (response.StatusCode == HttpStatusCode.Created)
                {
                    _acknowledged[mark] = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
                }
                else
                {
                    _failures.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {(int)response.StatusCode} from {string.Join(",", response.Headers.TryGetValues("X-Vigie-Replica", out var r) ? r : [])}: {await response.Content.ReadAsStringAsync()}");
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                _failures.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {e.GetType().Name}: {e.Message}");
            }
        }
    }

    /// <summary>Stops the clients after their request in flight.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_clients);
    }

    /// <summary>
    /// The rows stored for this load (marked body masses) against what was acknowledged: marks stored more than once,
    /// acknowledged marks not stored (or stored under another id), and rows of marks never acknowledged.
    /// </summary>
    public async Task<Outcome> CompareWithTableAsync(SwarmStack stack, long afterId)
    {
        var rows = (await stack.QueryAsync($"SELECT id, body_mass_g FROM predictions WHERE id > {afterId} AND body_mass_g >= 3000 AND body_mass_g < 4000"))
            .Select(line => line.Split('\t'))
            .Select(f => (Id: long.Parse(f[0], CultureInfo.InvariantCulture), Mark: Mark(double.Parse(f[1], CultureInfo.InvariantCulture))))
            .ToList();
        var byMark = rows.GroupBy(r => r.Mark).ToDictionary(g => g.Key, g => g.Select(r => r.Id).ToList());
        return new Outcome(
            Sent,
            _failures.Count,
            _acknowledged.Count,
            rows.Count,
            Duplicated: byMark.Count(m => m.Value.Count > 1),
            AcknowledgedNotStored: _acknowledged.Count(a => !byMark.TryGetValue(a.Key, out var ids) || !ids.Contains(a.Value)),
            StoredNotAcknowledged: byMark.Keys.Count(m => !_acknowledged.ContainsKey(m)));
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _http.Dispose();
        _stop.Dispose();
    }

    /// <summary>What a load run sent, what the client was told, and what the table holds.</summary>
    internal sealed record Outcome(int Sent, int Failed, int Acknowledged, int Stored, int Duplicated, int AcknowledgedNotStored, int StoredNotAcknowledged)
    {
        public override string ToString() =>
            $"sent {Sent}, failed {Failed}, acknowledged {Acknowledged}, stored {Stored} (duplicated {Duplicated}, acknowledged not stored {AcknowledgedNotStored}, stored not acknowledged {StoredNotAcknowledged})";
    }
}
