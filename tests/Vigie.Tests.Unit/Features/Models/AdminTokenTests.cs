using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Vigie.Web.Features.Models;

namespace Vigie.Tests.Unit.Features.Models;

public sealed class AdminTokenTests
{
    private sealed class Clock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;
        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static AdminToken Token(string? value, TimeProvider? clock = null) =>
        new(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [AdminToken.Key] = value }).Build(), clock ?? TimeProvider.System);

    [Test]
    public void Only_the_configured_token_matches()
    {
        var token = Token("s3cret-token");
        Assert.Multiple(() =>
        {
            Assert.That(token.IsConfigured, Is.True);
            Assert.That(token.Matches("s3cret-token"), Is.True);
            Assert.That(token.Matches("s3cret-tokeN"), Is.False);
            Assert.That(token.Matches("s3cret"), Is.False);
            Assert.That(token.Matches(""), Is.False);
            Assert.That(token.Matches(null), Is.False);
        });
    }

    [Test]
    public void Without_a_configured_token_nothing_matches()
    {
        var token = Token(null);
        Assert.Multiple(() =>
        {
            Assert.That(token.IsConfigured, Is.False);
            Assert.That(token.Matches(""), Is.False);
            Assert.That(token.Matches("anything"), Is.False);
            Assert.That(token.IsValidSession("1.abc"), Is.False);
        });
    }

    [TestCase("Bearer s3cret-token", true)]
    [TestCase("bearer s3cret-token", true)]
    [TestCase("Bearer wrong", false)]
    [TestCase("Basic s3cret-token", false)]
    [TestCase("s3cret-token", false)]
    [TestCase("", false)]
    public void The_bearer_header_authorizes_only_with_the_token(string header, bool expected)
    {
        var request = new DefaultHttpContext().Request;
        request.Headers.Authorization = header;
        Assert.That(Token("s3cret-token").Authorizes(request), Is.EqualTo(expected));
    }

    [Test]
    public void A_session_is_valid_until_it_expires_and_only_for_the_token_that_signed_it()
    {
        var clock = new Clock(new DateTimeOffset(2025, 1, 1, 12, 0, 0, TimeSpan.Zero));
        var token = Token("s3cret-token", clock);
        var session = token.NewSession();
        var (expires, signature) = (session.Split('.')[0], session.Split('.')[1]);
        Assert.Multiple(() =>
        {
            Assert.That(token.IsValidSession(session), Is.True);
            Assert.That(Token("other-token", clock).IsValidSession(session), Is.False);
            Assert.That(token.IsValidSession($"{long.Parse(expires, System.Globalization.CultureInfo.InvariantCulture) + 3600}.{signature}"), Is.False, "a later expiry with the old signature");
            Assert.That(token.IsValidSession(expires + ".x" + signature[1..]), Is.False);
            Assert.That(token.IsValidSession(null), Is.False);
            Assert.That(token.IsValidSession("garbage"), Is.False);
        });
        clock.Now += AdminToken.SessionLifetime + TimeSpan.FromSeconds(1);
        Assert.That(token.IsValidSession(session), Is.False, "expired");
    }
}
