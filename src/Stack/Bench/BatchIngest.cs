using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Npgsql;

namespace Vigie.Stack.Bench;

/// <summary>Batch ingest figures: rows/s of each measured upload, the CPU each cost, and psql's own COPY for reference.</summary>
public sealed record BatchIngestResult(IReadOnlyList<double> RowsPerSecond, IReadOnlyList<(double App, double Postgres)> Cpu, long RowsStored, double PsqlRowsPerSecond,
    PostgresStretch Postgres, PostgresStretch PsqlPostgres)
{
    /// <summary>Median of the measured uploads.</summary>
    public double Median => RowsPerSecond.Order().ElementAt(RowsPerSecond.Count / 2);
}

/// <summary>
/// Measures <c>POST /api/predictions/batch</c> with one CSV of generated rows (parse, validate, predict, binary COPY,
/// commit, timed from the client), and psql's <c>\copy</c> of the same rows into the same table as the reference the
/// target is set against. The first upload runs the batch code for the first time (the JIT's unoptimised tier) and
/// is not counted: a serving app has long since warmed up.
/// </summary>
public static class BatchIngest
{
    public const int MeasuredUploads = 5;

    public static async Task<BatchIngestResult> MeasureAsync(Uri web, int rows, int appPid, int postmasterPid, string adminConnectionString, TextWriter console, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(console);
        var csv = Csv(rows);
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
        var rowsPerSecond = new List<double>();
        var cpu = new List<(double App, double Postgres)>();
        Guid lastBatch = default;
        PostgresCounters? before = null;
        for (var upload = 0; upload <= MeasuredUploads; upload++)
        {
            if (upload == 1)
            {
                // PostgreSQL's own view (WAL, commits, statements) of the measured uploads, not of the warm-up.
                before = await PostgresStatistics.StartAsync(adminConnectionString, cancellationToken);
            }
            using var form = new MultipartFormDataContent();
            var file = new ByteArrayContent(csv);
            file.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
            form.Add(file, "file", "bench.csv");
            var (app0, pg0) = (ProcFs.CpuTicks(appPid), ProcFs.TreeTicks(postmasterPid));
            var started = Stopwatch.GetTimestamp();
            using var response = await http.PostAsync(new Uri(web, "/api/predictions/batch"), form, cancellationToken);
            var report = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken)).RootElement;
            var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            var (app, pg) = ((ProcFs.CpuTicks(appPid) - app0) / ProcFs.TicksPerSecond, (ProcFs.TreeTicks(postmasterPid) - pg0) / ProcFs.TicksPerSecond);
            if (!response.IsSuccessStatusCode || report.GetProperty("accepted").GetInt32() != rows)
            {
                throw new InvalidOperationException($"The batch upload failed: {(int)response.StatusCode} {report}");
            }
            lastBatch = report.GetProperty("batchId").GetGuid();
            var label = upload == 0 ? "warm-up, not counted" : $"{upload} of {MeasuredUploads}";
            console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  batch of {rows:N0} rows ({csv.Length / 1048576.0:F1} MB) in {seconds:F2} s: {rows / seconds:N0} rows/s (CPU: app {app:F2} s, PostgreSQL {pg:F2} s) [{label}]"));
            if (upload > 0)
            {
                rowsPerSecond.Add(rows / seconds);
                cpu.Add((app, pg));
            }
        }
        var postgres = await PostgresStatistics.FinishAsync($"batch ingest ({MeasuredUploads} uploads of {rows:N0} rows)", "batch rows", adminConnectionString, before!,
            cpu.Average(c => c.Postgres) * 1e6 / rows, cancellationToken);
        var (psql, psqlPostgres) = await PsqlCopyAsync(adminConnectionString, lastBatch, rows, postmasterPid, console, cancellationToken);
        return new BatchIngestResult(rowsPerSecond, cpu, (MeasuredUploads + 2L) * rows, psql, postgres, psqlPostgres);
    }

    /// <summary>
    /// psql's <c>\copy</c> of the rows of <paramref name="batch"/> (as text, as a user would load a file) into
    /// predictions under a batch of its own: the same table, indexes and checks as the app's COPY.
    /// </summary>
    private static async Task<(double RowsPerSecond, PostgresStretch Postgres)> PsqlCopyAsync(string adminConnectionString, Guid batch, int rows, int postmasterPid, TextWriter console,
        CancellationToken cancellationToken)
    {
        var psql = Executables.Require(["psql"], "postgresql-client");
        var reference = Guid.CreateVersion7();
        var file = Path.Combine(Path.GetTempPath(), $"vigie-bench-{reference}.tsv");
        var columns = "bill_length_mm, bill_depth_mm, flipper_length_mm, body_mass_g, species, confidence, probability_adelie, probability_chinstrap, probability_gentoo, channel, model_version, batch_id, batch_line, batch_extra_values";
        var builder = new NpgsqlConnectionStringBuilder(adminConnectionString);
        try
        {
            await using (var connection = new NpgsqlConnection(adminConnectionString))
            {
                await connection.OpenAsync(cancellationToken);
                await using var insert = new NpgsqlCommand(
                    "INSERT INTO batches (id, file_name, accepted_rows, rejected_rows, model_version) SELECT @reference, 'psql-copy-reference', accepted_rows, 0, model_version FROM batches WHERE id = @batch",
                    connection);
                insert.Parameters.AddWithValue("reference", reference);
                insert.Parameters.AddWithValue("batch", batch);
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
            await RunPsqlAsync(psql, builder, $"\\copy (SELECT {columns.Replace("batch_id", $"'{reference}'::uuid", StringComparison.Ordinal)} FROM predictions WHERE batch_id = '{batch}' ORDER BY batch_line) TO '{file}'", cancellationToken);
            var before = await PostgresStatistics.CountersAsync(adminConnectionString, cancellationToken);
            var pg0 = ProcFs.TreeTicks(postmasterPid);
            var started = Stopwatch.GetTimestamp();
            await RunPsqlAsync(psql, builder, $"\\copy predictions ({columns}) FROM '{file}'", cancellationToken);
            var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            var pgSeconds = (ProcFs.TreeTicks(postmasterPid) - pg0) / ProcFs.TicksPerSecond;
            // psql's backend flushed its statistics when it exited.
            var postgres = await PostgresStatistics.FinishAsync("psql \\copy of the same rows", "rows", adminConnectionString, before, pgSeconds * 1e6 / rows, cancellationToken,
                settle: TimeSpan.FromSeconds(1));
            console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  psql \\copy of the same {rows:N0} rows: {seconds:F2} s, {rows / seconds:N0} rows/s (PostgreSQL {pgSeconds:F2} s)"));
            return (rows / seconds, postgres with { Statements = [] });
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static async Task RunPsqlAsync(string psql, NpgsqlConnectionStringBuilder connection, string command, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(psql, ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", connection.Host!, "-p", connection.Port.ToString(CultureInfo.InvariantCulture), "-U", connection.Username!, "-d", connection.Database!, "-c", command])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        if (!string.IsNullOrEmpty(connection.Password))
        {
            start.Environment["PGPASSWORD"] = connection.Password;
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException("psql did not start");
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.StandardOutput.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"psql failed ({process.ExitCode}): {await errors}");
        }
    }

    /// <summary>A CSV of <paramref name="rows"/> plausible penguins with an id column carried through.</summary>
    public static byte[] Csv(int rows)
    {
        var random = new Random(7);
        var sb = new StringBuilder("id,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g\n");
        for (var i = 0; i < rows; i++)
        {
            sb.Append(CultureInfo.InvariantCulture, $"p{i},{random.Next(340, 560) / 10.0},{random.Next(135, 205) / 10.0},{random.Next(175, 230)},{random.Next(28, 63) * 100}\n");
        }
        return Encoding.UTF8.GetBytes(sb.ToString());
    }
}
