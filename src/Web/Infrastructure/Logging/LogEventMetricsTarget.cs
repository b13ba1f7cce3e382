using NLog;
using LogLevel = NLog.LogLevel;
using NLog.Targets;
using Vigie.Web.Infrastructure.Telemetry;

namespace Vigie.Web.Infrastructure.Logging;

/// <summary>An NLog target that writes nothing and counts every event into <c>vigie_log_events_total{level}</c>.</summary>
[Target("VigieLogMetrics")]
internal sealed class LogEventMetricsTarget(VigieMetrics metrics) : Target
{
    private static readonly Dictionary<LogLevel, string> Labels = new()
    {
        [LogLevel.Trace] = "trace",
        [LogLevel.Debug] = "debug",
        [LogLevel.Info] = "info",
        [LogLevel.Warn] = "warn",
        [LogLevel.Error] = "error",
        [LogLevel.Fatal] = "fatal",
    };

    protected override void Write(LogEventInfo logEvent) =>
        metrics.RecordLogEvent(Labels.GetValueOrDefault(logEvent.Level, "info"));

    // Counting is thread-safe: skip the lock NLog takes around every write of a target, which every request's
    // summary line would otherwise contend for.
    // (Target.WriteAsyncLogEvent, which calls this, hands an exception to the continuation itself.)
    protected override void WriteAsyncThreadSafe(NLog.Common.AsyncLogEventInfo logEvent)
    {
        Write(logEvent.LogEvent);
        logEvent.Continuation(null);
    }
}
