using System.Net;
using System.Text.RegularExpressions;
using Vigie.Testing;

namespace Vigie.Tests.Stack.Containers;

/// <summary>
/// Restarting the web container keeps what a browser holds working: a form rendered before the restart posts after it
/// (its antiforgery token is protected with a key ring that outlives the container, not an in-memory one) and the
/// admin signs in with a form rendered before the restart.
/// </summary>
[Order(4)]
public sealed partial class RestartTests
{
    private static ContainerStack Stack => ContainerStackSetUp.Stack;

    [Test]
    public async Task Forms_and_the_admin_sign_in_rendered_before_a_web_restart_work_after_it()
    {
        using var handler = new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false };
        using var browser = new HttpClient(handler) { BaseAddress = Stack.WebUrl, Timeout = TimeSpan.FromSeconds(30) };
        var predictToken = Token(await browser.GetStringAsync("/"));
        var signInToken = Token(await browser.GetStringAsync("/Models"));

        await Stack.ComposeAsync(TimeSpan.FromMinutes(2), "restart", "web");
        await Stack.WaitHealthyAsync(["web"], TimeSpan.FromMinutes(3));

        using var predicted = await browser.PostAsync("/", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = predictToken,
            ["Input.BillLengthMm"] = "39.1",
            ["Input.BillDepthMm"] = "18.7",
            ["Input.FlipperLengthMm"] = "181",
            ["Input.BodyMassG"] = "3750",
        }));
        using var signedIn = await browser.PostAsync("/Models?handler=Login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = signInToken,
            ["Token"] = ContainerStack.Secret("admin_token"),
        }));
        var models = await browser.GetStringAsync("/Models");
        var logs = await ProcessRunner.RunAsync("docker", ["logs", "--since", "5m", await Stack.ContainerIdAsync("web")]);
        Assert.Multiple(() =>
        {
            Assert.That(predicted.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), "the prediction form posted after the restart (400 = antiforgery token no longer readable)");
            Assert.That(predicted.Headers.Location?.ToString(), Does.Contain("/Predictions/"));
            Assert.That(signedIn.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), "the admin sign-in posted after the restart");
            Assert.That(models, Does.Not.Contain("id=\"Token\""), "after signing in, /Models no longer asks for the admin token");
            Assert.That(logs.All, Does.Not.Contain("EphemeralXmlRepository"), "the restarted app keeps its Data Protection keys in memory only");
        });
    }

    private static string Token(string page)
    {
        var match = AntiforgeryField().Match(page);
        Assert.That(match.Success, Is.True, "no antiforgery field in the page");
        return WebUtility.HtmlDecode(match.Groups[1].Value);
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\"[^>]*value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();
}
