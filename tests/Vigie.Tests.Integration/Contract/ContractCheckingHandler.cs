namespace Vigie.Tests.Integration.Contract;

/// <summary>
/// Sits on the integration tests' HttpClient: every answer of a documented API operation is checked against the live
/// OpenAPI document, and an answer the document does not describe fails the test that got it.
/// </summary>
public sealed class ContractCheckingHandler(Func<ApiContract> contract) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        var path = request.RequestUri!.AbsolutePath;
        // A request for another host name is refused by host filtering before it reaches the API the document describes.
        var foreignHost = request.Headers.Host is { } host && !string.Equals(host, request.RequestUri.Authority, StringComparison.OrdinalIgnoreCase);
        if (!path.StartsWith("/api/", StringComparison.Ordinal) || foreignHost)
        {
            return response;
        }
        await response.Content.LoadIntoBufferAsync(cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        var violations = contract().Check(request.Method.Method, path, (int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, body);
        if (violations.Count > 0)
        {
            Assert.Fail("The OpenAPI document does not describe this answer:\n" + string.Join("\n", violations));
        }
        return response;
    }
}
