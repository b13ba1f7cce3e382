using Vigie.Web.Features.Alerts;

namespace Vigie.Tests.Unit.Features.Alerts;

public sealed class AlertPayloadReaderTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);

    private static AlertmanagerPayload Payload(Dictionary<string, string> labels, Dictionary<string, string>? annotations = null, string fingerprint = "abc123", string receiver = "vigie") =>
        new("4", receiver, "firing", [new AlertmanagerAlert("firing", labels, annotations ?? [], Now.AddMinutes(-5), null, fingerprint)]);

    [Test]
    public void A_valid_alert_is_read()
    {
        var (notifications, errors) = AlertPayloadReader.Read(Payload(new() { ["alertname"] = "VigieDatabaseDown", ["severity"] = "critical" }), Now);
        Assert.Multiple(() =>
        {
            Assert.That(errors, Is.Empty);
            Assert.That(notifications.Single().AlertName, Is.EqualTo("VigieDatabaseDown"));
        });
    }

    public static IEnumerable<TestCaseData> Unstorable()
    {
        yield return new TestCaseData(Payload(new() { ["alertname"] = "Vigie\0Down" }), "alerts[0]").SetName("NUL in a label value");
        yield return new TestCaseData(Payload(new() { ["alertname"] = "VigieDown", ["job\0"] = "web" }), "alerts[0]").SetName("NUL in a label name");
        yield return new TestCaseData(Payload(new() { ["alertname"] = "VigieDown" }, new() { ["summary"] = "half a pair \ud800" }), "alerts[0]").SetName("Lone surrogate in an annotation");
        yield return new TestCaseData(Payload(new() { ["alertname"] = "VigieDown" }, fingerprint: "ab\0c"), "alerts[0]").SetName("NUL in the fingerprint");
        yield return new TestCaseData(Payload(new() { ["alertname"] = "VigieDown" }, receiver: "vi\0gie"), "receiver").SetName("NUL in the receiver");
    }

    [TestCaseSource(nameof(Unstorable))]
    public void Text_PostgreSQL_cannot_store_is_refused_with_a_clear_error(AlertmanagerPayload payload, string field)
    {
        var (notifications, errors) = AlertPayloadReader.Read(payload, Now);
        Assert.Multiple(() =>
        {
            Assert.That(notifications, Is.Empty);
            Assert.That(errors.Keys, Does.Contain(field));
            Assert.That(errors[field].Single(), Does.Contain("NUL"));
        });
    }

    [Test]
    public void A_proper_surrogate_pair_is_accepted()
    {
        var (_, errors) = AlertPayloadReader.Read(Payload(new() { ["alertname"] = "VigieDown" }, new() { ["summary"] = "penguin \ud83d\udc27" }), Now);
        Assert.That(errors, Is.Empty);
    }
}
