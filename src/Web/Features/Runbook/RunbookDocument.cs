using System.Reflection;
using Markdig;
using Markdig.Extensions.AutoIdentifiers;
using Markdig.Renderers.Html;
using Markdig.Syntax;

namespace Vigie.Web.Features.Runbook;

/// <summary>
/// prometheus/RUNBOOK.md, embedded in the app at build time and rendered once: every alert's <c>runbook_url</c> points
/// here (<c>/Runbook#alertname</c>), so the links work offline and always match the version that runs. Each heading gets
/// the id GitHub would give it (the alert's name in lower case), so the anchors stay stable.
/// </summary>
public sealed class RunbookDocument
{
    /// <summary>Where the page is served; the alert rules' <c>runbook_url</c> annotations start with it.</summary>
    public const string Path = "/Runbook";

    private const string ResourceName = "Vigie.Web.Runbook.md";

    private RunbookDocument(string html, IReadOnlyList<(string Id, string Title)> sections)
    {
        Html = html;
        Sections = sections;
    }

    /// <summary>The rendered document. Raw HTML in the markdown is not passed through: it is shown as text.</summary>
    public string Html { get; }

    /// <summary>The second-level sections (one per alert) with their anchors, in document order.</summary>
    public IReadOnlyList<(string Id, string Title)> Sections { get; }

    /// <summary>Reads and renders the embedded runbook.</summary>
    public static RunbookDocument Load()
    {
        using var stream = typeof(RunbookDocument).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"{ResourceName} is not embedded in {typeof(RunbookDocument).Assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        return Render(reader.ReadToEnd());
    }

    /// <summary>Renders <paramref name="markdown"/>.</summary>
    public static RunbookDocument Render(string markdown)
    {
        var pipeline = new MarkdownPipelineBuilder()
            .UseAutoIdentifiers(AutoIdentifierOptions.GitHub)
            .UsePipeTables()
            .DisableHtml()
            .Build();
        var document = Markdown.Parse(markdown, pipeline);
        var sections = document.Descendants<HeadingBlock>()
            .Where(h => h.Level == 2)
            .Select(h => (h.GetAttributes().Id ?? string.Empty, h.Inline?.FirstChild?.ToString() ?? string.Empty))
            .ToList();
        return new RunbookDocument(document.ToHtml(pipeline), sections);
    }
}
