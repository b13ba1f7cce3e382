using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Vigie.Tests.Browser.Harness;

namespace Vigie.Tests.Browser.Features;

public sealed class BatchPageTests : BrowserTest
{
    private const string Header = "id,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g";

    private static FilePayload Csv(string name, params string[] lines) => new()
    {
        Name = name,
        MimeType = "text/csv",
        Buffer = Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n"),
    };

    [Test]
    public async Task A_CSV_with_good_and_bad_rows_is_reported_row_by_row_and_its_results_download_as_CSV()
    {
        await OpenAsync("/Batch");
        await Screenshots.CaptureAsync(Page, "batch");
        await Field("CSV file").SetInputFilesAsync(Csv("penguins.csv",
            Header,
            "adelie-1,39.1,18.7,181,3750",
            "bad-1,abc,18.7,181,3750",
            "gentoo-1,46.1,13.2,211,4500",
            "bad-2,39.1,18.7,999,3750"));
        await Button("Upload and predict").ClickAsync();

        await Expect(Page).ToHaveURLAsync(new Regex(@"/Batch\?id=[0-9a-f-]{36}$"));
        var report = Page.GetByTestId("batch-report");
        await Expect(report.GetByRole(AriaRole.Heading, new() { Level = 2 })).ToContainTextAsync("penguins.csv");
        await Expect(Page.GetByTestId("accepted")).ToHaveTextAsync("2");
        await Expect(Page.GetByTestId("rejected")).ToHaveTextAsync("2");
        var rows = Page.GetByTestId("rejections").Locator("tbody tr");
        await Expect(rows).ToHaveCountAsync(2);
        await Expect(rows.Nth(0).Locator("td")).ToHaveTextAsync(["3", "bad-1,abc,18.7,181,3750", "bill_length_mm: 'abc' is not a number."]);
        await Expect(rows.Nth(1).Locator("td").Nth(0)).ToHaveTextAsync("5");
        await Expect(rows.Nth(1).Locator("td").Nth(1)).ToHaveTextAsync("bad-2,39.1,18.7,999,3750");
        await Expect(rows.Nth(1).Locator("td").Nth(2)).ToContainTextAsync("Flipper length must be between 100 and 300 mm.");
        await Expect(Page.GetByTestId("species-summary").Locator("li")).ToHaveCountAsync(3);
        await Expect(Page.GetByTestId("first-rows").Locator("tbody tr")).ToHaveCountAsync(2);
        await Screenshots.CaptureAsync(Page, "batch-report");

        var download = await Page.RunAndWaitForDownloadAsync(() => Page.GetByTestId("download").ClickAsync());
        Assert.That(download.SuggestedFilename, Does.Match(@"^vigie-batch-[0-9a-f-]{36}\.csv$"));
        var path = await download.PathAsync();
        var lines = (await File.ReadAllLinesAsync(path)).Where(l => l.Length > 0).ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(lines, Has.Length.EqualTo(3), "a header and one line per accepted row");
            Assert.That(lines[0], Is.EqualTo("line,id,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,species,confidence,probability_adelie,probability_chinstrap,probability_gentoo,prediction_id,model_version,out_of_distribution,ood_score,ood_features"));
            Assert.That(lines[1], Does.Match(@"^2,adelie-1,39\.1,18\.7,181,3750,Adelie,[01]\.\d{4},"));
            Assert.That(lines[2], Does.Match(@"^4,gentoo-1,46\.1,13\.2,211,4500,Gentoo,[01]\.\d{4},"));
        });
    }

    [Test]
    public async Task Markup_in_an_uploaded_file_name_is_shown_as_text_and_never_runs()
    {
        // No "/" in it: the server keeps only the file name part of what the browser sends.
        const string name = "<img src=x onerror=alert(1)><svg onload=alert(2)>.csv";
        await OpenAsync("/Batch");
        await Field("CSV file").SetInputFilesAsync(Csv(name, Header, "a,39.1,18.7,181,3750"));
        await Button("Upload and predict").ClickAsync();

        await Expect(Page.GetByTestId("accepted")).ToHaveTextAsync("1");
        await Expect(Page.GetByTestId("batch-report").Locator(".filename")).ToHaveTextAsync(name);
        Assert.Multiple(async () =>
        {
            Assert.That(await Page.Locator("main img").CountAsync(), Is.Zero, "no image element was injected");
            Assert.That(await Page.Locator("main svg").CountAsync(), Is.Zero, "no svg element was injected");
        });
    }

    [Test]
    public async Task Uploading_without_a_file_or_with_an_unusable_header_is_reported_next_to_the_file_field()
    {
        await OpenAsync("/Batch");
        await Button("Upload and predict").ClickAsync();
        await Expect(Page.GetByTestId("error-file")).ToHaveTextAsync("Choose a CSV file to upload.");
        await Expect(Field("CSV file")).ToHaveAttributeAsync("aria-invalid", "true");

        await Field("CSV file").SetInputFilesAsync(Csv("notes.csv", "name,colour", "Pingu,black"));
        await Button("Upload and predict").ClickAsync();
        await Expect(Page.GetByTestId("error-file")).ToContainTextAsync("The header row must name the columns");
        await Expect(Page.GetByTestId("batch-report")).ToHaveCountAsync(0);
        await Screenshots.CaptureAsync(Page, "batch-invalid");
    }

    [Test]
    public async Task The_sample_file_offered_on_the_page_downloads_and_uploads_without_a_rejected_row()
    {
        await OpenAsync("/Batch");
        var download = await Page.RunAndWaitForDownloadAsync(() => Page.GetByRole(AriaRole.Link, new() { Name = "Download a sample file" }).ClickAsync());
        var sample = await File.ReadAllBytesAsync(await download.PathAsync());
        Assert.That(Encoding.UTF8.GetString(sample), Does.StartWith("id,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g"));

        await Field("CSV file").SetInputFilesAsync(new FilePayload { Name = download.SuggestedFilename, MimeType = "text/csv", Buffer = sample });
        await Button("Upload and predict").ClickAsync();
        await Expect(Page.GetByTestId("accepted")).ToHaveTextAsync("5");
        await Expect(Page.GetByTestId("rejected")).ToHaveTextAsync("0");
        await Expect(Page.GetByTestId("batch-report")).ToContainTextAsync("Every row was accepted.");
        await Expect(Page.GetByTestId("rejected-tile")).Not.ToHaveClassAsync(new System.Text.RegularExpressions.Regex("stat-bad"));

        // The report's history link lists this batch's rows only.
        await Page.GetByTestId("batch-history").ClickAsync();
        await Expect(Page.GetByTestId("batch-filter")).ToBeVisibleAsync();
        await Expect(Page.GetByTestId("history-table").Locator("tbody tr")).ToHaveCountAsync(5);
        await Screenshots.CaptureAsync(Page, "history-batch");
    }
}
