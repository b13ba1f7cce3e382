using System.Text;
using Vigie.Web.Features.Batches;

namespace Vigie.Tests.Unit.Features.Batches;

public sealed class BatchCsvTests
{
    private const string Header = "bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g";

    /// <summary>An upload read to its end, as the batch store reads it.</summary>
    private sealed record ParsedBatch(IReadOnlyList<string> ExtraColumns, IReadOnlyList<BatchRow> Rows, IReadOnlyList<RowError> Errors);

    private static ParsedBatch Parse(string text, bool bom = false)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        if (bom)
        {
            bytes = [.. Encoding.UTF8.GetPreamble(), .. bytes];
        }
        using var csv = BatchCsv.Open(new MemoryStream(bytes));
        var lines = csv.Lines().ToList();
        return new ParsedBatch(csv.ExtraColumns, [.. lines.Where(l => l.Row is not null).Select(l => l.Row!)], [.. lines.Where(l => l.Error is not null).Select(l => l.Error!)]);
    }

    [Test]
    public void Valid_rows_are_accepted_with_their_line_numbers()
    {
        var parsed = Parse($"{Header}\n39.1,18.7,181,3750\n46.1,13.2,211,4500\n");
        Assert.Multiple(() =>
        {
            Assert.That(parsed.Errors, Is.Empty);
            Assert.That(parsed.Rows.Select(r => r.Line), Is.EqualTo(new[] { 2, 3 }));
            Assert.That(parsed.Rows[1].Measurements.FlipperLengthMm, Is.EqualTo(211));
        });
    }

    [Test]
    public void Columns_may_come_in_any_order_and_case_and_extra_columns_are_carried()
    {
        var parsed = Parse("id,BODY_MASS_G,flipper_length_mm,note,bill_depth_mm,bill_length_mm\np1,3750,181,\"first, quoted\",18.7,39.1\n");
        Assert.Multiple(() =>
        {
            Assert.That(parsed.ExtraColumns, Is.EqualTo(new[] { "id", "note" }));
            Assert.That(parsed.Rows.Single().ExtraValues, Is.EqualTo(new[] { "p1", "first, quoted" }));
            Assert.That(parsed.Rows.Single().Measurements, Is.EqualTo(new Vigie.Web.Classifier.Measurements(39.1, 18.7, 181, 3750)));
        });
    }

    [Test]
    public void Byte_order_mark_and_CRLF_line_ends_are_accepted()
    {
        var parsed = Parse($"{Header}\r\n39.1,18.7,181,3750\r\n40.3,18,195,3250\r\n", bom: true);
        Assert.Multiple(() =>
        {
            Assert.That(parsed.Errors, Is.Empty);
            Assert.That(parsed.Rows, Has.Count.EqualTo(2));
        });
    }

    [Test]
    public void A_rejected_line_carries_what_it_held_as_uploaded_shortened_when_long()
    {
        var note = new string('x', 300);
        var parsed = Parse($"{Header},note\r\nabc,18.7,181,3750,\"a, b\"\r\n39.1,18.7,999,3750,{note}\r\n");
        Assert.Multiple(() =>
        {
            Assert.That(parsed.Errors[0].Content, Is.EqualTo("abc,18.7,181,3750,\"a, b\""));
            Assert.That(parsed.Errors[1].Content, Has.Length.EqualTo(BatchCsv.MaxRejectedContentLength + 1).And.EndWith("…"));
        });
    }

    [Test]
    public void Malformed_rows_are_each_reported_by_line_and_the_others_kept()
    {
        var parsed = Parse($"{Header}\n39.1,18.7,181,3750\nabc,18.7,181,3750\n39.1,18.7,,3750\n39.1,18.7,181\n39.1,18.7,181,99999\n39.1,18.7,181,NaN\n40.3,18,195,3250\n");
        Assert.Multiple(() =>
        {
            Assert.That(parsed.Rows.Select(r => r.Line), Is.EqualTo(new[] { 2, 8 }));
            Assert.That(parsed.Errors.Select(e => e.Line), Is.EqualTo(new[] { 3, 4, 5, 6, 7 }));
            Assert.That(parsed.Errors[0].Message, Does.Contain("bill_length_mm").And.Contain("'abc' is not a number"));
            Assert.That(parsed.Errors[1].Message, Does.Contain("flipper_length_mm").And.Contain("required"));
            Assert.That(parsed.Errors[2].Message, Does.Contain("Expected 4 columns"));
            Assert.That(parsed.Errors[3].Message, Does.Contain("body_mass_g").And.Contain("between 1000 and 10000"));
            Assert.That(parsed.Errors[4].Message, Does.Contain("finite"));
        });
    }

    [TestCase("", "empty")]
    [TestCase("bill_length_mm;bill_depth_mm;flipper_length_mm;body_mass_g\n39.1;18.7;181;3750\n", "missing")]
    [TestCase("id,bill_length_mm\n1,39.1\n", "missing: bill_depth_mm, flipper_length_mm, body_mass_g")]
    [TestCase("bill_length_mm,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g\n", "distinct")]
    public void An_unusable_header_rejects_the_whole_file(string text, string expected)
    {
        var ex = Assert.Throws<InvalidBatchFileException>(() => Parse(text));
        Assert.That(ex!.Message, Does.Contain(expected));
    }

    [Test]
    public void Binary_garbage_is_rejected_as_a_file_without_header()
    {
        var garbage = new byte[4096];
        new Random(7).NextBytes(garbage);
        Assert.Throws<InvalidBatchFileException>(() => BatchCsv.Open(new MemoryStream(garbage)).Dispose());
    }

    [Test]
    public void A_one_megabyte_line_is_reported_not_fatal()
    {
        var parsed = Parse($"{Header},note\n39.1,18.7,181,3750,ok\n39.1,18.7,181,3750,{new string('x', 1024 * 1024)}\n");
        Assert.Multiple(() =>
        {
            Assert.That(parsed.Rows.Select(r => r.Line), Is.EqualTo(new[] { 2 }));
            Assert.That(parsed.Errors.Single().Line, Is.EqualTo(3));
        });
    }

    [TestCase("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0")]
    [TestCase("+1", "'+1")]
    [TestCase("-1", "'-1")]
    [TestCase("@SUM(A1)", "'@SUM(A1)")]
    [TestCase("\tx", "'\tx")]
    [TestCase("plain", "plain")]
    [TestCase("", "")]
    public void Formula_cells_are_neutralised(string value, string expected)
    {
        Assert.That(BatchCsv.NeutralizeFormula(value), Is.EqualTo(expected));
    }
}
