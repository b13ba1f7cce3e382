using Microsoft.Extensions.Configuration;
using Vigie.Web.Features.Alerts;
using Vigie.Web.Infrastructure.Security;

namespace Vigie.Tests.Unit.Infrastructure;

public sealed class SharedSecretTests
{
    private const string Secret = "s3cret-token-0123456789";

    [TestCase(Secret, true)]
    [TestCase(" " + Secret + "\n", true)]
    [TestCase("s3cret-token-012345678X", false)]
    [TestCase("S3cret-token-0123456789", false)]
    public void Only_the_secret_itself_matches(string presented, bool expected) =>
        Assert.That(SharedSecret.From(Secret)!.Matches(presented), Is.EqualTo(expected));

    [TestCase("")]
    [TestCase("s")]
    [TestCase("s3cret-token")]
    [TestCase(Secret + "-and-more")]
    [TestCase("a much much much much much much much much much much much much much much much longer value")]
    public void Values_of_another_length_do_not_match(string presented) =>
        Assert.That(SharedSecret.From(Secret)!.Matches(presented), Is.False);

    [Test]
    public void Null_does_not_match() => Assert.That(SharedSecret.From(Secret)!.Matches(null), Is.False);

    [TestCase(null)]
    [TestCase("")]
    [TestCase("  \n")]
    public void An_empty_or_missing_configuration_value_is_no_secret(string? configured) =>
        Assert.That(SharedSecret.From(configured), Is.Null);

    [TestCase("Bearer " + Secret, true)]
    [TestCase("bearer " + Secret, true)]
    [TestCase("BEARER " + Secret, true)]
    [TestCase("Bearer  " + Secret + " ", true)]
    [TestCase("Bearer s3cret", false)]
    [TestCase("Bearer " + Secret + "x", false)]
    [TestCase("Bearer ", false)]
    [TestCase("Bearer", false)]
    [TestCase("Basic " + Secret, false)]
    [TestCase(Secret, false)]
    [TestCase("", false)]
    [TestCase(null, false)]
    public void A_bearer_header_matches_only_with_the_secret(string? header, bool expected) =>
        Assert.That(SharedSecret.From(Secret)!.MatchesBearer(header), Is.EqualTo(expected));

    // The alert inbox's token goes through the same comparison as the admin token: a shorter or longer guess is simply
    // refused (its comparison used to return at once on a length mismatch, which told the length of the token).
    [TestCase("Bearer " + Secret, true)]
    [TestCase("Bearer s3cret", false)]
    [TestCase("Bearer " + Secret + Secret, false)]
    [TestCase("Bearer ", false)]
    public void The_alert_webhook_token_uses_the_shared_comparison(string header, bool expected)
    {
        var token = new AlertWebhookToken(new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [AlertWebhookToken.ConfigurationKey] = Secret + "\n" }).Build());
        Assert.That(token.Accepts(header), Is.EqualTo(expected));
    }
}
