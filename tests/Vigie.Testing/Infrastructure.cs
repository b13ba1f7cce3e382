using NUnit.Framework;

namespace Vigie.Testing;

/// <summary>
/// What tests do when a real dependency (PostgreSQL, Prometheus, Chromium…) is missing: skip on a developer's
/// machine, fail in CI, where <c>VIGIE_REQUIRE_INFRA=1</c> makes every dependency mandatory.
/// </summary>
public static class Infrastructure
{
    public static bool Required => Environment.GetEnvironmentVariable("VIGIE_REQUIRE_INFRA") == "1";

    /// <summary>Ends the test (skip or failure) with <paramref name="reason"/> unless <paramref name="available"/>.</summary>
    public static void Require(bool available, string reason)
    {
        if (available)
        {
            return;
        }
        if (Required)
        {
            Assert.Fail($"{reason} (VIGIE_REQUIRE_INFRA=1 makes this a failure)");
        }
        Assert.Ignore(reason);
    }

    /// <summary>The build configuration of the running tests (Release or Debug), to run the app built alike.</summary>
    public static string BuildConfiguration { get; } =
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";

    /// <summary>The repository root (the folder holding Vigie.sln), found from the test's output directory.</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Vigie.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("Vigie.sln not found above " + AppContext.BaseDirectory);
    }
}
