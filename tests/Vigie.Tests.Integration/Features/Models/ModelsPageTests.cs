using System.Net;
using System.Text.RegularExpressions;

namespace Vigie.Tests.Features.Models;

/// <summary>The /Models page: the registry side by side for everyone, lifecycle actions for an admin only, antiforgery on every form.</summary>
[NonParallelizable]
public sealed partial class ModelsPageTests
{
    private Lifecycle _lifecycle = null!;
    private string _candidate = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _lifecycle = await Lifecycle.StartAsync();
        _candidate = await _lifecycle.TrainCandidateAsync();
    }

    [OneTimeTearDown]
    public async Task StopAsync() => await _lifecycle.DisposeAsync();

    [Test]
    public async Task Everyone_sees_the_versions_with_their_metrics_but_no_action()
    {
        using var client = _lifecycle.Client();
        var active = await _lifecycle.ServedVersionAsync();
        using var response = await client.GetAsync(new Uri("/Models", UriKind.Relative));
        var html = await response.Content.ReadAsStringAsync();
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(html, Does.Contain($"data-version=\"{active}\""));
            Assert.That(html, Does.Contain($"data-version=\"{_candidate}\""));
            Assert.That(html, Does.Contain($"data-testid=\"active-version\">{active}<"));
            Assert.That(html, Does.Contain("Held-out rows"));
            Assert.That(html, Does.Contain("macro-F1"));
            Assert.That(html, Does.Contain($"for <code>{active}</code>"), "the candidate's comparison with the active version");
            Assert.That(html, Does.Contain("name=\"Token\""), "the admin sign-in form");
            Assert.That(html, Does.Not.Contain("handler=Promote"));
            Assert.That(html, Does.Not.Contain("handler=Train"));
        });
    }

    [Test]
    public async Task A_wrong_token_is_refused_and_an_action_without_a_session_changes_nothing()
    {
        using var client = _lifecycle.Client();
        var snapshot = await _lifecycle.RegistrySnapshotAsync();
        var token = await AntiforgeryAsync(client);
        using var login = await client.PostAsync(new Uri("/Models?handler=Login", UriKind.Relative), Form(token, ("Token", "wrong")));
        var loginHtml = await login.Content.ReadAsStringAsync();
        using var promote = await client.PostAsync(new Uri($"/Models?handler=Promote&version={_candidate}", UriKind.Relative), Form(token));
        Assert.Multiple(async () =>
        {
            Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(loginHtml, Does.Contain("That is not the admin token."));
            Assert.That(login.Headers.TryGetValues("Set-Cookie", out var cookies) && cookies.Any(c => c.StartsWith("vigie_admin=", StringComparison.Ordinal)), Is.False);
            Assert.That(promote.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(await _lifecycle.RegistrySnapshotAsync(), Is.EqualTo(snapshot));
        });
    }

    [Test]
    public async Task Forms_without_the_antiforgery_token_are_rejected()
    {
        using var client = _lifecycle.Client();
        await SignInAsync(client);
        var snapshot = await _lifecycle.RegistrySnapshotAsync();
        using var promote = await client.PostAsync(new Uri($"/Models?handler=Promote&version={_candidate}", UriKind.Relative),
            new FormUrlEncodedContent(new Dictionary<string, string>()));
        Assert.Multiple(async () =>
        {
            Assert.That(promote.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(await _lifecycle.RegistrySnapshotAsync(), Is.EqualTo(snapshot));
        });
    }

    [Test]
    public async Task An_admin_signs_in_once_then_shadows_promotes_and_rolls_back_from_the_page()
    {
        using var client = _lifecycle.Client();
        var active = await _lifecycle.ServedVersionAsync();
        var cookie = await SignInAsync(client);
        var page = await client.GetStringAsync(new Uri("/Models", UriKind.Relative));

        var shadow = await ActAsync(client, $"Shadow&version={_candidate}");
        var shadowed = await _lifecycle.ScalarAsync<string>("SELECT version FROM model_versions WHERE shadow_since IS NOT NULL");
        var promote = await ActAsync(client, $"Promote&version={_candidate}");
        var promoted = await _lifecycle.ServedVersionAsync();
        var rollback = await ActAsync(client, "Rollback");
        var rolledBack = await _lifecycle.ServedVersionAsync();

        Assert.Multiple(() =>
        {
            Assert.That(cookie, Does.Contain("httponly").IgnoreCase);
            Assert.That(cookie, Does.Contain("samesite=strict").IgnoreCase);
            Assert.That(cookie, Does.Contain("path=/Models").IgnoreCase);
            Assert.That(page, Does.Contain("handler=Train"));
            Assert.That(page, Does.Contain($"action=\"/Models?version={_candidate}&amp;handler=Promote\""));
            Assert.That(shadow, Does.Contain($"Model {_candidate} is in shadow"));
            Assert.That(shadowed, Is.EqualTo(_candidate));
            Assert.That(promote, Does.Contain($"Model {_candidate} is now active"));
            Assert.That(promoted, Is.EqualTo(_candidate));
            Assert.That(rollback, Does.Contain($"Rolled back to model {active}"));
            Assert.That(rolledBack, Is.EqualTo(active));
        });
    }

    private static FormUrlEncodedContent Form(string token, params (string Name, string Value)[] fields) =>
        new(fields.Select(f => KeyValuePair.Create(f.Name, f.Value)).Append(KeyValuePair.Create("__RequestVerificationToken", token)));

    private static async Task<string> AntiforgeryAsync(HttpClient client)
    {
        var html = await client.GetStringAsync(new Uri("/Models", UriKind.Relative));
        return TokenField().Match(html) is { Success: true } match ? match.Groups[1].Value : throw new AssertionException("No antiforgery token on /Models");
    }

    // Signs in with the admin token; the test client keeps the cookie. Returns its Set-Cookie line.
    private static async Task<string> SignInAsync(HttpClient client)
    {
        var token = await AntiforgeryAsync(client);
        using var login = await client.PostAsync(new Uri("/Models?handler=Login", UriKind.Relative), Form(token, ("Token", Lifecycle.AdminTokenValue)));
        Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        return login.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("vigie_admin=", StringComparison.Ordinal));
    }

    // Posts one admin action with a fresh antiforgery token, follows the redirect and returns the notice shown.
    private static async Task<string> ActAsync(HttpClient client, string handler)
    {
        var token = await AntiforgeryAsync(client);
        using var response = await client.PostAsync(new Uri($"/Models?handler={handler}", UriKind.Relative), Form(token));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await response.Content.ReadAsStringAsync());
        var html = await client.GetStringAsync(response.Headers.Location);
        return Notice().Match(html) is { Success: true } match ? WebUtility.HtmlDecode(match.Groups[1].Value) : "(no notice) " + (Problem().Match(html).Groups[1].Value);
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex TokenField();

    [GeneratedRegex("data-testid=\"models-notice\">([^<]*)<")]
    private static partial Regex Notice();

    [GeneratedRegex("data-testid=\"models-problem\">([^<]*)<")]
    private static partial Regex Problem();
}
