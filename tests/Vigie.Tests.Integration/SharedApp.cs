using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Vigie.Testing;

namespace Vigie.Tests.Integration;

/// <summary>One app and one PostgreSQL for the whole assembly: tests run one after another and each checks its own rows.</summary>
[SetUpFixture]
public sealed partial class SharedApp
{
    public static TestDatabase Database { get; private set; } = null!;
    public static VigieAppFactory App { get; private set; } = null!;

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        Database = await TestDatabase.GetAsync();
        App = new VigieAppFactory(Database.ConnectionString);
        await App.WaitUntilReadyAsync();
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (App is not null)
        {
            await App.DisposeAsync();
        }
        await TestDatabase.StopSharedAsync();
    }

    /// <summary>
    /// A client that does not follow redirects, so tests see the 302 of post/redirect/get, and checks every answer of the
    /// JSON API against the live OpenAPI document (<see cref="Contract.ContractCheckingHandler"/>).
    /// </summary>
    public static HttpClient NewClient() =>
        App.CreateDefaultClient(new Uri("http://localhost"), new Microsoft.AspNetCore.Mvc.Testing.Handlers.CookieContainerHandler(), new Contract.ContractCheckingHandler(() => Document.Value));

    /// <summary>The live OpenAPI document, read once.</summary>
    private static readonly Lazy<Contract.ApiContract> Document = new(() =>
    {
        using var client = App.CreateClient();
        return new Contract.ApiContract(client.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative)).GetAwaiter().GetResult());
    });

    public static Task<long> CountAsync(string where = "true") =>
        Database.ScalarAsync<long>($"SELECT count(*) FROM predictions WHERE {where}");

    /// <summary>GETs <paramref name="path"/> and returns the antiforgery token of its form (the cookie stays in the client).</summary>
    public static async Task<string> AntiforgeryTokenAsync(HttpClient client, string path)
    {
        var html = await client.GetStringAsync(new Uri(path, UriKind.Relative));
        return TokenField().Match(html) is { Success: true } match
            ? match.Groups[1].Value
            : throw new AssertionException($"No antiforgery token on {path}");
    }

    public static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response) =>
        await response.Content.ReadFromJsonAsync<JsonElement>(Json);

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex TokenField();
}
