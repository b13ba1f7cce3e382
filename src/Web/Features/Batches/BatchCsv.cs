using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration;
using Vigie.Web.Features.Predictions;
using Vigie.Web.Model;

namespace Vigie.Web.Features.Batches;

/// <summary>An accepted CSV row: its physical line, its measurements and the values of the extra columns.</summary>
public sealed record BatchRow(int Line, Measurements Measurements, string[] ExtraValues);

/// <summary>A rejected CSV row and why.</summary>
public sealed record RowError(int Line, string Message);

/// <summary>A parsed upload: the extra columns carried through to the results, the accepted rows and the rejected lines.</summary>
public sealed record ParsedBatch(IReadOnlyList<string> ExtraColumns, IReadOnlyList<BatchRow> Rows, IReadOnlyList<RowError> Errors);

/// <summary>
/// Reads batch uploads: a header row naming at least <c>bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g</c>
/// (any order, any case), comma-separated, RFC 4180 quoting. Each data row is accepted or rejected on its own with
/// its line number, so one bad row never costs the others.
/// </summary>
public static class BatchCsv
{
    /// <summary>Extra columns beyond this are refused: they are carried into the database.</summary>
    public const int MaxExtraColumns = 20;

    /// <summary>Longest value accepted in an extra column.</summary>
    public const int MaxExtraValueLength = 1000;

    /// <summary>Rejected lines reported in full; beyond that they are counted only.</summary>
    public const int MaxReportedErrors = 1000;

    private static readonly CsvConfiguration ReadConfiguration = new(CultureInfo.InvariantCulture)
    {
        HasHeaderRecord = true,
        TrimOptions = TrimOptions.Trim,
        IgnoreBlankLines = true,
        BadDataFound = null,
        MissingFieldFound = null,
        MaxFieldSize = 4096,
        DetectColumnCountChanges = false,
    };

    /// <summary>Parses <paramref name="content"/>; throws <see cref="InvalidBatchFileException"/> when the header is unusable.</summary>
    public static ParsedBatch Parse(Stream content)
    {
        using var reader = new StreamReader(content, detectEncodingFromByteOrderMarks: true);
        using var csv = new CsvReader(reader, ReadConfiguration);
        var header = ReadHeader(csv);
        var positions = MeasurementFields.All.Select(f => Array.FindIndex(header, h => string.Equals(h, f.CsvName, StringComparison.OrdinalIgnoreCase))).ToArray();
        var missing = MeasurementFields.All.Where((_, i) => positions[i] < 0).Select(f => f.CsvName).ToList();
        if (missing.Count > 0)
        {
            throw new InvalidBatchFileException(
                $"The header row must name the columns {string.Join(",", MeasurementFields.All.Select(f => f.CsvName))}; missing: {string.Join(", ", missing)}. Columns are separated by commas.");
        }
        var extraPositions = Enumerable.Range(0, header.Length).Where(i => !positions.Contains(i)).ToArray();
        if (extraPositions.Length > MaxExtraColumns)
        {
            throw new InvalidBatchFileException($"At most {MaxExtraColumns} extra columns are carried through; the file has {extraPositions.Length}.");
        }

        var rows = new List<BatchRow>();
        var errors = new List<RowError>();
        while (true)
        {
            int line;
            try
            {
                if (!csv.Read())
                {
                    break;
                }
                line = csv.Parser.RawRow;
            }
            catch (CsvHelperException ex)
            {
                // The parser cannot resynchronise after a broken record (an endless quoted field, an oversized value).
                errors.Add(new RowError(ex.Context?.Parser?.RawRow ?? 0, "The CSV cannot be read from this line on: " + FirstLine(ex.Message)));
                break;
            }
            var row = ReadRow(csv, line, header.Length, positions, extraPositions, out var error);
            if (row is not null)
            {
                rows.Add(row);
            }
            else
            {
                errors.Add(new RowError(line, error!));
            }
        }
        return new ParsedBatch(extraPositions.Select(i => header[i]).ToArray(), rows, errors);
    }

    private static string[] ReadHeader(CsvReader csv)
    {
        try
        {
            if (!csv.Read() || !csv.ReadHeader() || csv.HeaderRecord is not { Length: > 0 } header)
            {
                throw new InvalidBatchFileException("The file is empty: a header row is required.");
            }
            if (header.Any(string.IsNullOrWhiteSpace) || header.Distinct(StringComparer.OrdinalIgnoreCase).Count() != header.Length)
            {
                throw new InvalidBatchFileException("Every column of the header row needs a distinct, non-empty name.");
            }
            return header;
        }
        catch (CsvHelperException ex)
        {
            throw new InvalidBatchFileException("The header row cannot be read as CSV: " + FirstLine(ex.Message));
        }
    }

    private static BatchRow? ReadRow(CsvReader csv, int line, int columnCount, int[] positions, int[] extraPositions, out string? error)
    {
        if (csv.Parser.Count != columnCount)
        {
            error = $"Expected {columnCount} columns as in the header, found {csv.Parser.Count}.";
            return null;
        }
        var values = new double[positions.Length];
        var messages = new List<string>();
        for (var i = 0; i < positions.Length; i++)
        {
            var field = MeasurementFields.All[i];
            var raw = csv.Parser[positions[i]];
            double? value = double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) ? parsed : null;
            var message = string.IsNullOrWhiteSpace(raw) ? $"{field.CsvName}: {field.Label} is required."
                : value is null ? $"{field.CsvName}: '{Shorten(raw)}' is not a number."
                : field.Check(value) is { } rangeError ? $"{field.CsvName}: {rangeError}"
                : null;
            if (message is not null)
            {
                messages.Add(message);
            }
            values[i] = value ?? 0;
        }
        var extras = extraPositions.Select(p => csv.Parser[p] ?? string.Empty).ToArray();
        if (extras.Any(v => v.Length > MaxExtraValueLength))
        {
            messages.Add($"Extra column values are limited to {MaxExtraValueLength} characters.");
        }
        if (messages.Count > 0)
        {
            error = string.Join(" ", messages);
            return null;
        }
        error = null;
        return new BatchRow(line, new Measurements(values[0], values[1], values[2], values[3]), extras);
    }

    private static string Shorten(string value) => value.Length <= 40 ? value : value[..40] + "…";

    private static string FirstLine(string message) => message.Split('\n', 2)[0].Trim();

    /// <summary>
    /// Makes a cell safe to open in a spreadsheet: values starting with =, +, -, @, tab or carriage return would
    /// run as formulas (CSV injection), so they get a leading apostrophe, the convention spreadsheets display as text.
    /// </summary>
    public static string NeutralizeFormula(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.Length > 0 && value[0] is '=' or '+' or '-' or '@' or '\t' or '\r' ? "'" + value : value;
    }
}

/// <summary>The upload cannot be processed at all (no usable header); nothing is stored.</summary>
public sealed class InvalidBatchFileException(string message) : Exception(message);
