using Vigie.Stack;
using Vigie.Testing;

namespace Vigie.Tests.Stack.Compose;

/// <summary>The validators these tests run: Debian's docker-compose and yamllint, and the npm tools pinned in .ci/tools.</summary>
internal static class Tools
{
    /// <summary>Where <c>npm ci --prefix .ci/tools</c> installs dclint and action-validator.</summary>
    public static string NodeToolsBin => Path.Combine(Infrastructure.RepositoryRoot, ".ci", "tools", "node_modules", ".bin");

    /// <summary>A program from PATH; ends the test (skip, or failure in CI) when the Debian package is not installed.</summary>
    public static string Installed(string name, string package)
    {
        var path = Executables.Find([name]);
        Infrastructure.Require(path is not null, $"{name} is not installed (Debian package '{package}')");
        return path!;
    }

    /// <summary>dclint or action-validator from .ci/tools; ends the test when <c>npm ci</c> has not been run there.</summary>
    public static string Node(string name)
    {
        var path = Path.Combine(NodeToolsBin, name);
        Infrastructure.Require(File.Exists(path), $"{name} not found in .ci/tools/node_modules/.bin: run npm ci in .ci/tools (npm ci --prefix .ci/tools)");
        Infrastructure.Require(Executables.Find(["node"]) is not null, "node is not installed (Debian package 'nodejs')");
        return path;
    }

    /// <summary>A temporary copy of some repository files (relative paths), deleted when disposed.</summary>
    public static TempCopy CopyOf(params string[] files)
    {
        var copy = new TempCopy(Directory.CreateTempSubdirectory("vigie-compose-").FullName);
        foreach (var file in files)
        {
            var target = Path.Combine(copy.Path, file);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(Path.Combine(Infrastructure.RepositoryRoot, file), target);
        }
        return copy;
    }
}

/// <summary>A scratch directory, removed on dispose.</summary>
internal sealed class TempCopy(string path) : IDisposable
{
    public string Path { get; } = path;

    public string this[string relative] => System.IO.Path.Combine(Path, relative);

    public void Write(string relative, string content)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(this[relative])!);
        File.WriteAllText(this[relative], content);
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
