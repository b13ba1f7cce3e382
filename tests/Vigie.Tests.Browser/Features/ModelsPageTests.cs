using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using Microsoft.Playwright;
using Vigie.Stack;
using Vigie.Testing;
using Vigie.Tests.Browser.Harness;

namespace Vigie.Tests.Browser.Features;

/// <summary>
/// The Models page as an operator uses it: sign in with the admin token, train, shadow, promote, roll back. Promotions
/// change the model every page shows, so the test runs its own cluster and app (with an admin token).
/// </summary>
public sealed class ModelsPageTests : BrowserTest
{
    private const string AdminToken = "browser-admin-token";

    [Test]
    public async Task An_admin_trains_shadows_promotes_and_rolls_back_from_the_Models_page()
    {
        Infrastructure.Require(PostgresCluster.IsInstalled, "PostgreSQL server binaries (initdb, pg_ctl) are not installed");
        using var cluster = await PostgresCluster.CreateAsync();
        await using var factory = new VigieAppFactory(cluster.AppConnectionString, new Dictionary<string, string> { ["admin_token"] = AdminToken });
        var port = FreePort.Next();
        factory.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        factory.StartServer();
        await factory.WaitUntilReadyAsync(TimeSpan.FromSeconds(90));
        var baseUrl = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}");
        await UseAppAsync(baseUrl);

        // Feedback that contradicts the base model on one kind of bird: the retrained candidate answers differently.
        using var api = new HttpClient { BaseAddress = new Uri(baseUrl) };
        for (var i = 0; i < 30; i++)
        {
            using var created = await api.PostAsJsonAsync("/api/predictions", new { billLengthMm = 45, billDepthMm = 16, flipperLengthMm = 210, bodyMassG = 4500 + i % 7 * 10 });
            var id = (await created.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("id").GetInt64();
            (await api.PostAsJsonAsync($"/api/predictions/{id}/feedback", new { actualSpecies = "Chinstrap" })).Dispose();
        }
        var active = (await api.GetFromJsonAsync<System.Text.Json.JsonElement>("/api/model")).GetProperty("version").GetString()!;

        await OpenAsync("/Models");
        await Expect(Page.GetByRole(AriaRole.Link, new() { Name = "Models" })).ToHaveAttributeAsync("aria-current", "page");
        await Expect(Page.GetByTestId("active-version")).ToHaveTextAsync(active);
        await Expect(Button("Promote")).ToHaveCountAsync(0);

        // The token field is styled as the other fields, not the browser's default box.
        var style = await Field("Admin token").EvaluateAsync<string>("e => { const s = getComputedStyle(e); return s.borderRadius + ' ' + s.minHeight; }");
        Assert.That(style, Is.EqualTo("8px 44px"), "the token field's border radius and height");

        // A wrong token first: refused on the page, with the reason beside the field.
        Problems.Allow(401);
        await Field("Admin token").FillAsync("not-it");
        await Button("Sign in").ClickAsync();
        await Expect(Page.Locator("#Token-error")).ToHaveTextAsync("That is not the admin token.");
        await Screenshots.CaptureAsync(Page, "models-token-error");
        await Field("Admin token").FillAsync(AdminToken);
        await Button("Sign in").ClickAsync();
        await Expect(Page.GetByTestId("models-notice")).ToContainTextAsync("Signed in");
        // Only one version was ever active: nothing to roll back to, so no button offers it.
        await Expect(Page.GetByTestId("no-rollback")).ToBeVisibleAsync();
        await Expect(Page.GetByTestId("rollback")).ToHaveCountAsync(0);
        await Expect(Page.GetByTestId("recall").First).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^recall Adelie \d+\.\d % · Chinstrap \d+\.\d % · Gentoo \d+\.\d %$"));

        await Button("Train a candidate").ClickAsync();
        await Expect(Page.GetByTestId("models-notice")).ToContainTextAsync("queued");
        var run = Page.GetByTestId("training-run");
        await ReloadUntilAsync(async () => (await run.InnerTextAsync()).Contains("succeeded", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the training run to finish");
        var candidateRow = Page.Locator("tr[data-version]").Filter(new() { Has = Page.GetByText("candidate", new() { Exact = true }) });
        await Expect(candidateRow).ToHaveCountAsync(1);
        var candidate = await candidateRow.GetAttributeAsync("data-version");
        await Expect(candidateRow).ToContainTextAsync($"vs");

        // The row's actions are in sight without scrolling the table sideways, at desktop and phone sizes.
        foreach (var size in new[] { Screenshots.Desktop, Screenshots.Phone })
        {
            await Page.SetViewportSizeAsync(size.Width, size.Height);
            foreach (var name in new[] { "Shadow", "Promote" })
            {
                var button = candidateRow.GetByRole(AriaRole.Button, new() { Name = name });
                await button.ScrollIntoViewIfNeededAsync();
                var visible = await button.EvaluateAsync<bool>("""
                    b => { const wrap = b.closest('.table-wrap').getBoundingClientRect(); const r = b.getBoundingClientRect();
                           return r.left >= wrap.left && r.right <= wrap.right; }
                    """);
                Assert.That(visible, Is.True, $"{name} at {size.Width} px lies inside the visible part of the versions table");
            }
        }
        await Page.SetViewportSizeAsync(Screenshots.Desktop.Width, Screenshots.Desktop.Height);

        await candidateRow.GetByRole(AriaRole.Button, new() { Name = "Shadow" }).ClickAsync();
        await Expect(Page.GetByTestId("shadow-version")).ToHaveTextAsync(candidate!);
        await Screenshots.CaptureAsync(Page, "models-admin");

        await Page.Locator($"tr[data-version='{candidate}']").GetByRole(AriaRole.Button, new() { Name = "Promote" }).ClickAsync();
        await Expect(Page.GetByTestId("models-notice")).ToContainTextAsync($"Model {candidate} is now active");
        await Expect(Page.GetByTestId("status-strip")).ToContainTextAsync($"Model {candidate}");
        await Expect(Page.GetByTestId("active-version")).ToHaveTextAsync(candidate!);

        await Button($"Roll back to {active}").ClickAsync();
        await Expect(Page.GetByTestId("models-notice")).ToContainTextAsync($"Rolled back to model {active}");
        await Expect(Page.GetByTestId("status-strip")).ToContainTextAsync($"Model {active}");
        await Expect(Page.Locator($"tr[data-version='{candidate}']")).ToContainTextAsync("retired");
    }
}
