using Prometheus;
using Vigie.Web.Features.Predictions;
using Vigie.Web.Infrastructure.Database;
using Vigie.Web.Infrastructure.Hosting;
using Vigie.Web.Classifier;

namespace Vigie.Web.Infrastructure.Telemetry;

/// <summary>
/// The one catalog of the app's own signals (the HTTP and process metrics are src/Metrics'). A reader learns every
/// signal from this file: name, help text, label names and bucket layout. Label values are always bounded (species,
/// channels, features, operations, loops), never ids or user text, and each list comes from the one place that owns the
/// vocabulary, so the number of series stays constant however much traffic arrives and a new value is labelled where
/// it is introduced. The instruments are private: every recording goes through a method that honours
/// <see cref="Enabled"/>.
/// </summary>
public sealed class VigieMetrics
{
    /// <summary>The model inputs, as the drift gauge labels them: their CSV names, in model order.</summary>
    public static IReadOnlyList<string> Features { get; } = Measurement.All.Select(m => m.FeatureLabel).ToArray();

    /// <summary>The app's background loops (<c>loop</c> label of <c>vigie_background_failures_total</c>).</summary>
    public static IReadOnlyList<string> BackgroundLoops => Hosting.BackgroundLoops.Names;

    // Label children of the bounded label sets, looked up once: the hot path (every request, every prediction)
    // then records without building label arrays or hashing label values.
    private readonly Dictionary<string, Histogram.Child> _inference = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Histogram.Child> _confidence = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Histogram.Child> _dbDuration = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Counter.Child> _dbErrors = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Counter.Child> _logEvents = new(StringComparer.Ordinal);
    private readonly Gauge.Child[] _drift;
    private readonly Counter.Child _rowsAccepted;
    private readonly Counter.Child _rowsRejected;
    private volatile PredictionSeries? _predictions;

    /// <summary>Creates every instrument in <paramref name="registry"/>; the same registry always yields the same collectors.</summary>
    /// <param name="registry">Where the instruments live; the sidecar exports <see cref="Prometheus.Metrics.DefaultRegistry"/>.</param>
    /// <param name="enabled">
    /// False turns every recording method of the catalog into a no-op (<c>Metrics:Enabled=false</c>), to measure what the
    /// instrumentation costs; the instruments still exist, so code holding them keeps working.
    /// </param>
    public VigieMetrics(CollectorRegistry registry, bool enabled = true)
    {
        ArgumentNullException.ThrowIfNull(registry);
        Enabled = enabled;
        Registry = registry;
        var factory = Prometheus.Metrics.WithCustomRegistry(registry);
        // Exemplars are only exported in the OpenMetrics format with Prometheus' exemplar storage on, which this stack does
        // not enable; reading the trace context for one on every observation is pure cost.
        factory.ExemplarBehavior = new ExemplarBehavior { DefaultExemplarProvider = (_, _) => Exemplar.None };

        Predictions = factory.CreateCounter(
            "vigie_predictions_total",
            "Predictions made and stored, per predicted species, channel (form|api|batch) and the model version that made them.",
            ["species", "channel", "model_version"]);
        InferenceDuration = factory.CreateHistogram(
            "vigie_inference_duration_seconds",
            "Time the model takes to score one set of measurements (no I/O), per channel.",
            ["channel"],
            new HistogramConfiguration { Buckets = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1] });
        PredictionConfidence = factory.CreateHistogram(
            "vigie_prediction_confidence_ratio",
            "Probability the model gave to the species it answered (0..1), per species. A shift to lower buckets means the model meets inputs unlike its training data.",
            ["species"],
            new HistogramConfiguration { Buckets = [0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1] });
        FeatureDrift = factory.CreateGauge(
            "vigie_feature_drift_psi",
            "Population Stability Index of each input feature over the sliding window of recent predictions against the training distribution. Above 0.1 is a moderate shift, above 0.2 a significant one.",
            ["feature"]);
        DriftWindow = factory.CreateGauge(
            "vigie_drift_window_predictions",
            "Predictions in this instance's sliding window of recent predictions (Honesty:DriftWindowSize). The drift indices and the estimated accuracy are published only once it reaches vigie_drift_window_minimum_predictions: below that the dashboard says there is not enough data yet.");
        DriftWindowMinimum = factory.CreateGauge(
            "vigie_drift_window_minimum_predictions",
            "Predictions the drift window must hold before the drift indices mean anything (Honesty:DriftMinimumSamples); the drift alerts require it, so a small sample never pages anyone.");
        PredictionDrift = factory.CreateGauge(
            "vigie_prediction_drift_psi",
            "Output drift: Population Stability Index of the species mix of the recent predictions against the training data's species mix. Above 0.2 the model answers a population unlike the one it learned from, even when each input looks ordinary.");
        EstimatedAccuracy = factory.CreateGauge(
            "vigie_estimated_accuracy_ratio",
            "Accuracy expected from the confidences of the recent predictions (their mean: confidence-based performance estimation, as NannyML's CBPE), available before feedback arrives. Honest only as far as the model is calibrated: compare vigie_model_calibration_error.");
        OutOfDistributionPredictions = factory.CreateCounter(
            "vigie_out_of_distribution_predictions_total",
            "Stored predictions whose inputs lay beyond the serving version's training range by more than Honesty:OutOfDistributionMargin standard deviations (the model extrapolated; the answer says so), per model version. Divided by vigie_predictions_total it is the share of answers to treat with caution.",
            ["model_version"]);
        CalibrationError = factory.CreateGauge(
            "vigie_model_calibration_error",
            "Expected calibration error of a model version on feedback (0..1): the prediction-weighted mean gap between confidence and accuracy over confidence tenths. 0 means \"93 % confident\" is right 93 % of the time.",
            ["model_version"]);
        Feedback = factory.CreateCounter(
            "vigie_feedback_total",
            "True species given as feedback on a stored prediction, by whether the prediction was correct, per model version: live accuracy is correct / (correct + incorrect).",
            ["outcome", "model_version"]);
        BatchRows = factory.CreateCounter(
            "vigie_batch_rows_total",
            "CSV rows of batch uploads, by outcome: accepted (predicted and stored) or rejected (malformed or out of range).",
            ["outcome"]);

        DbQueryDuration = factory.CreateHistogram(
            "vigie_db_query_duration_seconds",
            "Time spent in PostgreSQL per operation, including connection acquisition.",
            ["operation"],
            new HistogramConfiguration { Buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5] });
        DbErrors = factory.CreateCounter(
            "vigie_db_errors_total",
            "PostgreSQL operations that failed (connection refused, timeout, server error), per operation.",
            ["operation"]);
        DbUp = factory.CreateGauge(
            "vigie_db_up",
            "1 when the app's periodic probe of PostgreSQL succeeded, 0 when it failed.");

        BuildInfo = factory.CreateGauge(
            "vigie_build_info",
            "Always 1; the labels carry the app's version and the .NET runtime it runs on.",
            ["version", "runtime"]);
        ModelInfo = factory.CreateGauge(
            "vigie_model_info",
            "Always 1 for the model version in service; model_version is the hash of training data and trainer settings.",
            ["model_version", "trainer"]);
        ModelAccuracy = factory.CreateGauge(
            "vigie_model_accuracy_ratio",
            "Held-out accuracy of a model version as measured when it was registered (0..1), for the active version and the newest candidates: status is active|candidate, so a candidate is compared with the version in service before anyone promotes it.",
            ["model_version", "status"]);
        ModelTrainingRuns = factory.CreateCounter(
            "vigie_model_training_runs_total",
            "Retraining runs this instance finished, by outcome: registered (a new candidate), unchanged (no new feedback since an existing version) or failed. Failures mean feedback is not becoming a better model.",
            ["outcome"]);
        ModelTrainingDuration = factory.CreateHistogram(
            "vigie_model_training_duration_seconds",
            "Wall time of a retraining run from start to registration (loading feedback, training, evaluating both models); growth follows the amount of feedback.",
            new HistogramConfiguration { Buckets = [0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300] });
        ModelSwitches = factory.CreateCounter(
            "vigie_model_switches_total",
            "Times this instance switched the model it serves after start-up (a promotion or rollback applied). The model dashboard draws each increase as an annotation, so a change in accuracy or drift can be matched to the version change that caused it.");
        ShadowPredictions = factory.CreateCounter(
            "vigie_shadow_predictions_total",
            "Predictions also scored by the candidate in shadow, by whether it agreed with the answer the active model gave (agree|disagree). The agreement rate says how different a promotion would make the answers, before it is made.",
            ["model_version", "agreement"]);
        ShadowSkipped = factory.CreateCounter(
            "vigie_shadow_skipped_total",
            "Predictions the candidate in shadow did not score because its queue was full (shadow scoring fell behind the traffic; answers are never slowed to wait for it). Above zero, the agreement and shadow accuracy describe a sample, not every prediction.");
        ShadowAgreement = factory.CreateGauge(
            "vigie_model_shadow_agreement_ratio",
            "Share of all predictions a shadowed version scored (recorded in shadow_predictions, every instance) on which it agreed with the answer given (0..1), for the version in shadow and the newest versions.",
            ["model_version"]);
        ModelLiveAccuracy = factory.CreateGauge(
            "vigie_model_live_accuracy_ratio",
            "Accuracy on real feedback per model version (0..1), from the database so it covers every instance and survives restarts: role=served for the answers a version gave, role=shadow for what a shadowed candidate would have answered on the same predictions. The evidence for promoting or rolling back.",
            ["model_version", "role"]);

        AlertNotifications = factory.CreateCounter(
            "vigie_alert_notifications_total",
            "Alert notifications Alertmanager delivered to Vigie's inbox and the inbox stored (acknowledged with 200; one refused with 503 while the database is away is counted when Alertmanager resends it), by status (firing|resolved) and severity (critical|warning|info|none|other).",
            ["status", "severity"]);

        BackgroundFailures = factory.CreateCounter(
            "vigie_background_failures_total",
            "Rounds of a background loop (database probe and migrator, alert refresher, shadow scoring, registry sync, model stats, training, key ring warm-up) that failed with an error the loop did not expect. The loop logs it at error level and goes on after a back-off instead of stopping the app; a rising count means that work is not being done (stale readiness, alerts, model stats), so find the cause in logs/web.log.",
            ["loop"]);

        RetentionDeleted = factory.CreateCounter(
            "vigie_retention_deleted_predictions_total",
            "Predictions the retention deleted for being older than Retention:PredictionDays (feedback rows are kept). Stays at zero while retention is off; beside the predictions table's size on the Database dashboard, it shows whether the table's growth is bounded.");

        LogEvents = factory.CreateCounter(
            "vigie_log_events_total",
            "Log events written by the app, per level (trace|debug|info|warn|error|fatal); a rise in error is often the first sign of trouble.",
            ["level"]);

        PrecreateZeroSeries();
        foreach (var level in LogLevels)
        {
            _logEvents[level] = LogEvents.WithLabels(level);
        }
        foreach (var operation in VigieDatabase.Operations)
        {
            _dbErrors[operation] = DbErrors.WithLabels(operation);
            _dbDuration[operation] = DbQueryDuration.WithLabels(operation);
        }
        foreach (var channel in Channels.All)
        {
            _inference[channel] = InferenceDuration.WithLabels(channel);
        }
        foreach (var species in Species.All)
        {
            _confidence[species] = PredictionConfidence.WithLabels(species);
        }
        _drift = Features.Select(f => FeatureDrift.WithLabels(f)).ToArray();
        _rowsAccepted = BatchRows.WithLabels("accepted");
        _rowsRejected = BatchRows.WithLabels("rejected");
    }

    // Zero series from the start, so "no errors" reads as 0 on dashboards and in alerts, not as missing data.
    private void PrecreateZeroSeries()
    {
        foreach (var operation in VigieDatabase.Operations)
        {
            DbErrors.WithLabels(operation);
        }
        foreach (var status in new[] { "firing", "resolved" })
        {
            foreach (var severity in new[] { "critical", "warning" })
            {
                AlertNotifications.WithLabels(status, severity);
            }
        }
        foreach (var outcome in new[] { "accepted", "rejected" })
        {
            BatchRows.WithLabels(outcome);
        }
        foreach (var loop in BackgroundLoops)
        {
            BackgroundFailures.WithLabels(loop);
        }
        foreach (var outcome in TrainingOutcomes)
        {
            ModelTrainingRuns.WithLabels(outcome);
        }
    }

    /// <summary>The levels of <c>vigie_log_events_total</c>.</summary>
    public static readonly IReadOnlyList<string> LogLevels = ["trace", "debug", "info", "warn", "error", "fatal"];

    /// <summary>False when <c>Metrics:Enabled=false</c>: the recording methods do nothing.</summary>
    public bool Enabled { get; }

    private CollectorRegistry Registry { get; }

    private Counter Predictions { get; }
    private Histogram InferenceDuration { get; }
    private Histogram PredictionConfidence { get; }
    private Gauge FeatureDrift { get; }
    private Gauge DriftWindow { get; }
    private Gauge DriftWindowMinimum { get; }
    private Gauge PredictionDrift { get; }
    private Gauge EstimatedAccuracy { get; }
    private Counter OutOfDistributionPredictions { get; }
    private Gauge CalibrationError { get; }
    private Counter Feedback { get; }
    private Counter BatchRows { get; }
    private Histogram DbQueryDuration { get; }
    private Counter DbErrors { get; }
    private Gauge DbUp { get; }
    private Gauge BuildInfo { get; }
    private Gauge ModelInfo { get; }
    private Gauge ModelAccuracy { get; }
    private Counter ModelTrainingRuns { get; }
    private Histogram ModelTrainingDuration { get; }
    private Counter ModelSwitches { get; }
    private Counter ShadowPredictions { get; }
    private Counter ShadowSkipped { get; }
    private Gauge ShadowAgreement { get; }
    private Gauge ModelLiveAccuracy { get; }
    private Counter LogEvents { get; }
    private Counter RetentionDeleted { get; }
    private Counter AlertNotifications { get; }
    private Counter BackgroundFailures { get; }

    /// <summary>Publishes the model in service: info gauge at 1 with its version, held-out accuracy, and zeroed series per species/channel.</summary>
    public void SetModel(string modelVersion, string trainer, double heldOutAccuracy)
    {
        if (!Enabled)
        {
            return;
        }
        ModelInfo.WithLabels(modelVersion, trainer).Set(1);
        ModelAccuracy.WithLabels(modelVersion, "active").Set(heldOutAccuracy);
        var series = new PredictionSeries(modelVersion);
        foreach (var species in Species.All)
        {
            foreach (var channel in Channels.All)
            {
                series.Children[(species, channel)] = Predictions.WithLabels(species, channel, modelVersion);
            }
        }
        _predictions = series;
        foreach (var outcome in new[] { "correct", "incorrect" })
        {
            Feedback.WithLabels(outcome, modelVersion);
        }
        series.OutOfDistribution = OutOfDistributionPredictions.WithLabels(modelVersion);
    }

    /// <summary>The outcomes of <c>vigie_model_training_runs_total</c>.</summary>
    public static readonly IReadOnlyList<string> TrainingOutcomes = ["registered", "unchanged", "failed"];

    /// <summary>
    /// The instance now serves <paramref name="modelVersion"/>: its info and accuracy series are published first, then
    /// the previous version's are removed, so a scrape sees exactly one <c>vigie_model_info</c> series and never none.
    /// </summary>
    public void SwitchModel(string? previousVersion, string? previousTrainer, string modelVersion, string trainer, double heldOutAccuracy)
    {
        if (!Enabled)
        {
            return;
        }
        SetModel(modelVersion, trainer, heldOutAccuracy);
        ModelAccuracy.RemoveLabelled(modelVersion, "candidate");
        if (previousVersion is not null && previousVersion != modelVersion)
        {
            ModelInfo.RemoveLabelled(previousVersion, previousTrainer ?? trainer);
            ModelAccuracy.RemoveLabelled(previousVersion, "active");
            ModelSwitches.Inc();
        }
    }

    /// <summary>Publishes the app's version and the .NET runtime it runs on (<c>vigie_build_info</c>).</summary>
    public void SetBuildInfo(string version, string runtime)
    {
        if (Enabled)
        {
            BuildInfo.WithLabels(version, runtime).Set(1);
        }
    }

    /// <summary>One alert notification the inbox stored, with its status and its severity as the inbox files it.</summary>
    public void RecordAlertNotification(string status, string severity)
    {
        if (Enabled)
        {
            AlertNotifications.WithLabels(status, severity).Inc();
        }
    }

    /// <summary><paramref name="count"/> predictions deleted by the retention.</summary>
    public void RecordRetentionDeleted(int count)
    {
        if (Enabled)
        {
            RetentionDeleted.Inc(count);
        }
    }

    /// <summary>A finished retraining run.</summary>
    public void RecordTrainingRun(string outcome, double seconds)
    {
        if (Enabled)
        {
            ModelTrainingRuns.WithLabels(outcome).Inc();
            ModelTrainingDuration.Observe(seconds);
        }
    }

    /// <summary>One offer of work (a prediction or a whole batch) the shadow queue had no room for.</summary>
    public void RecordShadowSkipped()
    {
        if (Enabled)
        {
            ShadowSkipped.Inc();
        }
    }

    /// <summary><paramref name="agreed"/> and <paramref name="disagreed"/> predictions scored in shadow by <paramref name="modelVersion"/>.</summary>
    public void RecordShadowPredictions(string modelVersion, int agreed, int disagreed)
    {
        if (Enabled)
        {
            ShadowPredictions.WithLabels(modelVersion, "agree").Inc(agreed);
            ShadowPredictions.WithLabels(modelVersion, "disagree").Inc(disagreed);
        }
    }

    /// <summary>
    /// Replaces the registry-derived gauges (candidate accuracy, shadow agreement, live accuracy, calibration error) with
    /// <paramref name="stats"/>; series of versions no longer published are removed.
    /// </summary>
    public void PublishModelStats(IReadOnlyCollection<ModelStats> stats)
    {
        ArgumentNullException.ThrowIfNull(stats);
        if (!Enabled)
        {
            return;
        }
        lock (_modelStatsGate)
        {
            var accuracy = new HashSet<(string, string)>();
            var agreement = new HashSet<string>();
            var live = new HashSet<(string, string)>();
            var calibration = new HashSet<string>();
            foreach (var s in stats)
            {
                if (s.CalibrationError is { } ece)
                {
                    CalibrationError.WithLabels(s.ModelVersion).Set(ece);
                    calibration.Add(s.ModelVersion);
                }
                if (s.Status is "candidate")
                {
                    ModelAccuracy.WithLabels(s.ModelVersion, s.Status).Set(s.HeldOutAccuracy);
                    accuracy.Add((s.ModelVersion, s.Status));
                }
                if (s.ShadowAgreement is { } a)
                {
                    ShadowAgreement.WithLabels(s.ModelVersion).Set(a);
                    agreement.Add(s.ModelVersion);
                }
                if (s.ServedAccuracy is { } served)
                {
                    ModelLiveAccuracy.WithLabels(s.ModelVersion, "served").Set(served);
                    live.Add((s.ModelVersion, "served"));
                }
                if (s.ShadowAccuracy is { } shadow)
                {
                    ModelLiveAccuracy.WithLabels(s.ModelVersion, "shadow").Set(shadow);
                    live.Add((s.ModelVersion, "shadow"));
                }
            }
            foreach (var (version, status) in _publishedAccuracy.Where(k => !accuracy.Contains(k)))
            {
                ModelAccuracy.RemoveLabelled(version, status);
            }
            foreach (var version in _publishedAgreement.Where(k => !agreement.Contains(k)))
            {
                ShadowAgreement.RemoveLabelled(version);
            }
            foreach (var (version, role) in _publishedLive.Where(k => !live.Contains(k)))
            {
                ModelLiveAccuracy.RemoveLabelled(version, role);
            }
            foreach (var version in _publishedCalibration.Where(k => !calibration.Contains(k)))
            {
                CalibrationError.RemoveLabelled(version);
            }
            (_publishedAccuracy, _publishedAgreement, _publishedLive, _publishedCalibration) = (accuracy, agreement, live, calibration);
        }
    }

    /// <summary>Time the model took to score one set of measurements.</summary>
    public void RecordInference(string channel, double seconds)
    {
        if (!Enabled)
        {
            return;
        }
        (_inference.GetValueOrDefault(channel) ?? InferenceDuration.WithLabels(channel)).Observe(seconds);
    }

    /// <summary><paramref name="count"/> stored predictions of <paramref name="species"/> with <paramref name="confidence"/>.</summary>
    public void RecordPredictions(string species, string channel, string modelVersion, double confidence, int count = 1)
    {
        if (!Enabled)
        {
            return;
        }
        var series = _predictions;
        var counter = series is not null && series.ModelVersion == modelVersion && series.Children.TryGetValue((species, channel), out var child)
            ? child
            : Predictions.WithLabels(species, channel, modelVersion);
        counter.Inc(count);
        (_confidence.GetValueOrDefault(species) ?? PredictionConfidence.WithLabels(species)).Observe(confidence, count);
    }

    /// <summary><paramref name="count"/> stored predictions of <paramref name="modelVersion"/> flagged out of distribution.</summary>
    public void RecordOutOfDistribution(string modelVersion, int count = 1)
    {
        if (!Enabled || count == 0)
        {
            return;
        }
        var series = _predictions;
        (series is not null && series.ModelVersion == modelVersion ? series.OutOfDistribution! : OutOfDistributionPredictions.WithLabels(modelVersion)).Inc(count);
    }

    /// <summary>Feedback on a prediction of <paramref name="modelVersion"/>.</summary>
    public void RecordFeedback(bool correct, string modelVersion)
    {
        if (Enabled)
        {
            Feedback.WithLabels(correct ? "correct" : "incorrect", modelVersion).Inc();
        }
    }

    /// <summary>Rows of a stored batch upload.</summary>
    public void RecordBatchRows(int accepted, int rejected)
    {
        if (Enabled)
        {
            _rowsAccepted.Inc(accepted);
            _rowsRejected.Inc(rejected);
        }
    }

    /// <summary>Time one named database operation took, connection included.</summary>
    public void RecordDbQuery(string operation, double seconds)
    {
        if (Enabled)
        {
            (_dbDuration.GetValueOrDefault(operation) ?? DbQueryDuration.WithLabels(operation)).Observe(seconds);
        }
    }

    /// <summary>A failed database operation.</summary>
    public void RecordDbError(string operation)
    {
        if (Enabled)
        {
            (_dbErrors.GetValueOrDefault(operation) ?? DbErrors.WithLabels(operation)).Inc();
        }
    }

    /// <summary>A round of the background loop <paramref name="loop"/> (one of <see cref="BackgroundLoops"/>) failed unexpectedly.</summary>
    public void RecordBackgroundFailure(string loop)
    {
        if (Enabled)
        {
            BackgroundFailures.WithLabels(loop).Inc();
        }
    }

    /// <summary>The result of the periodic database probe.</summary>
    public void SetDbUp(bool up)
    {
        if (Enabled)
        {
            DbUp.Set(up ? 1 : 0);
        }
    }

    /// <summary>A log event written at <paramref name="level"/> (one of <see cref="LogLevels"/>).</summary>
    public void RecordLogEvent(string level)
    {
        if (Enabled)
        {
            (_logEvents.GetValueOrDefault(level) ?? LogEvents.WithLabels(level)).Inc();
        }
    }

    /// <summary>The PSI of the feature at <paramref name="featureIndex"/> in <see cref="Features"/>.</summary>
    public void SetFeatureDrift(int featureIndex, double psi)
    {
        if (Enabled)
        {
            _drift[featureIndex].Set(psi);
        }
    }

    /// <summary>The size of the drift window and the minimum it needs before the indices are published.</summary>
    public void SetDriftWindow(int predictions, int minimum)
    {
        if (Enabled)
        {
            DriftWindow.Set(predictions);
            DriftWindowMinimum.Set(minimum);
        }
    }

    /// <summary>The PSI of the predicted species mix against the training mix.</summary>
    public void SetPredictionDrift(double psi)
    {
        if (Enabled)
        {
            PredictionDrift.Set(psi);
        }
    }

    /// <summary>The accuracy expected from the recent confidences.</summary>
    public void SetEstimatedAccuracy(double accuracy)
    {
        if (Enabled)
        {
            EstimatedAccuracy.Set(accuracy);
        }
    }

    /// <summary>
    /// Runs <paramref name="update"/> right before every scrape of the registry: for gauges that are cheaper to compute
    /// when read than on every event (the drift PSI).
    /// </summary>
    public void OnScrape(Action update)
    {
        if (Enabled)
        {
            Registry.AddBeforeCollectCallback(update);
        }
    }

    private readonly Lock _modelStatsGate = new();
    private HashSet<(string, string)> _publishedAccuracy = [];
    private HashSet<string> _publishedAgreement = [];
    private HashSet<(string, string)> _publishedLive = [];
    private HashSet<string> _publishedCalibration = [];

    private sealed class PredictionSeries(string modelVersion)
    {
        public string ModelVersion { get; } = modelVersion;
        public Dictionary<(string Species, string Channel), Counter.Child> Children { get; } = new();
        public Counter.Child? OutOfDistribution { get; set; }
    }
}

/// <summary>What the registry says about one published model version, for <see cref="VigieMetrics.PublishModelStats"/>.</summary>
/// <param name="ModelVersion">The version.</param>
/// <param name="Status">active, candidate or retired.</param>
/// <param name="HeldOutAccuracy">Held-out accuracy when it was registered.</param>
/// <param name="ShadowAgreement">Share of shadow-scored predictions it agreed on, when it was shadowed.</param>
/// <param name="ServedAccuracy">Accuracy on feedback of the answers it gave, when it has any.</param>
/// <param name="ShadowAccuracy">Accuracy on feedback of what it answered in shadow, when it has any.</param>
/// <param name="CalibrationError">Expected calibration error of its answers on feedback, when it has any.</param>
public sealed record ModelStats(string ModelVersion, string Status, double HeldOutAccuracy, double? ShadowAgreement, double? ServedAccuracy, double? ShadowAccuracy, double? CalibrationError = null);
