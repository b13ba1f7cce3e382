using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration;
using Vigie.Web.Features.Predictions;
using Vigie.Web.Classifier;

namespace Vigie.Web.Features.Batches;

/// <summary>An accepted CSV row: its physical line, its measurements and the values of the extra columns.</summary>
public sealed record BatchRow(int Line, Measurements Measurements, string[] ExtraValues);

/// <summary>A rejected CSV row, why, and what it held (as uploaded, shortened; null when the line could not be read).</summary>
public sealed record RowError(int Line, string Message, string? Content = null);

/// <summary>One data line of an upload: the accepted row, or why the line was rejected.</summary>
public readonly record struct BatchLine(BatchRow? Row, RowError? Error);

/// <summary>
/// Reads batch uploads: a header row naming at least the CSV names of <see cref="Measurement.All"/>
/// (any order, any case), comma-separated, RFC 4180 quoting. Each data row is accepted or rejected on its own with
/// its line number, so one bad row never costs the others. Lines are read one at a time while they are stored, so an
/// upload is never held in memory as rows.
/// </summary>
public sealed class BatchCsv : IDisposable
{
    /// <summary>Extra columns beyond this are refused: they are carried into the database.</summary>
    public const int MaxExtraColumns = 20;

    /// <summary>Longest value accepted in an extra column.</summary>
    public const int MaxExtraValueLength = 1000;

    /// <summary>Longest part of a rejected line kept to show beside its reason: enough to recognise the row.</summary>
    public const int MaxRejectedContentLength = 200;

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

    private readonly StreamReader _reader;
    private readonly CsvReader _csv;
    private readonly int _columnCount;
    private readonly int[] _positions;
    private readonly int[] _extraPositions;

    private BatchCsv(StreamReader reader, CsvReader csv, string[] header, int[] positions, int[] extraPositions)
    {
        _reader = reader;
        _csv = csv;
        _columnCount = header.Length;
        _positions = positions;
        _extraPositions = extraPositions;
        ExtraColumns = extraPositions.Select(i => header[i]).ToArray();
    }

    /// <summary>The columns beyond the measurements, in file order, carried through to the results.</summary>
    public IReadOnlyList<string> ExtraColumns { get; }

    /// <summary>
    /// Reads the header of <paramref name="content"/>; throws <see cref="InvalidBatchFileException"/> when it is
    /// unusable, before anything is stored. The data lines follow through <see cref="Lines"/>.
    /// </summary>
    public static BatchCsv Open(Stream content)
    {
        var reader = new StreamReader(content, detectEncodingFromByteOrderMarks: true);
        var csv = new CsvReader(reader, ReadConfiguration);
        try
        {
            var header = ReadHeader(csv);
            var positions = Measurement.All.Select(f => Array.FindIndex(header, h => string.Equals(h, f.CsvName, StringComparison.OrdinalIgnoreCase))).ToArray();
            var missing = Measurement.All.Where((_, i) => positions[i] < 0).Select(f => f.CsvName).ToList();
            if (missing.Count > 0)
            {
                throw new InvalidBatchFileException(
                    $"The header row must name the columns {string.Join(",", Measurement.All.Select(f => f.CsvName))}; missing: {string.Join(", ", missing)}. Columns are separated by commas.");
            }
            var extraPositions = Enumerable.Range(0, header.Length).Where(i => !positions.Contains(i)).ToArray();
            if (extraPositions.Length > MaxExtraColumns)
            {
                throw new InvalidBatchFileException($"At most {MaxExtraColumns} extra columns are carried through; the file has {extraPositions.Length}.");
            }
            return new BatchCsv(reader, csv, header, positions, extraPositions);
        }
        catch
        {
            csv.Dispose();
            reader.Dispose();
            throw;
        }
    }

    /// <summary>The data lines in file order, each read when it is asked for.</summary>
    public IEnumerable<BatchLine> Lines()
    {
        while (true)
        {
            int line;
            RowError? unreadable = null;
            try
            {
                if (!_csv.Read())
                {
                    yield break;
                }
                line = _csv.Parser.RawRow;
            }
            catch (CsvHelperException ex)
            {
                // The parser cannot resynchronise after a broken record (an endless quoted field, an oversized value).
                line = 0;
                unreadable = new RowError(ex.Context?.Parser?.RawRow ?? 0, "The CSV cannot be read from this line on: " + FirstLine(ex.Message));
            }
            if (unreadable is not null)
            {
                yield return new BatchLine(null, unreadable);
                yield break;
            }
            var row = ReadRow(line, out var error);
            yield return row is not null ? new BatchLine(row, null) : new BatchLine(null, new RowError(line, error!, RawLine()));
        }
    }

    public void Dispose()
    {
        _csv.Dispose();
        _reader.Dispose();
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

    private BatchRow? ReadRow(int line, out string? error)
    {
        var csv = _csv;
        if (csv.Parser.Count != _columnCount)
        {
            error = $"Expected {_columnCount} columns as in the header, found {csv.Parser.Count}.";
            return null;
        }
        Span<double> values = stackalloc double[Measurement.All.Count];
        List<string>? messages = null;
        for (var i = 0; i < _positions.Length; i++)
        {
            var field = Measurement.All[i];
            var raw = csv.Parser[_positions[i]];
            double? value = double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) ? parsed : null;
            var message = string.IsNullOrWhiteSpace(raw) ? $"{field.CsvName}: {field.Label} is required."
                : value is null ? $"{field.CsvName}: '{Shorten(raw)}' is not a number."
                : field.Check(value) is { } rangeError ? $"{field.CsvName}: {rangeError}"
                : null;
            if (message is not null)
            {
                (messages ??= []).Add(message);
            }
            values[i] = value ?? 0;
        }
        var extras = _extraPositions.Length == 0 ? [] : new string[_extraPositions.Length];
        for (var i = 0; i < extras.Length; i++)
        {
            extras[i] = csv.Parser[_extraPositions[i]] ?? string.Empty;
        }
        if (extras.Any(v => v.Length > MaxExtraValueLength))
        {
            (messages ??= []).Add($"Extra column values are limited to {MaxExtraValueLength} characters.");
        }
        if (messages is not null)
        {
            error = string.Join(" ", messages);
            return null;
        }
        error = null;
        return new BatchRow(line, Measurements.From(values), extras);
    }

    // The record as it appeared in the file, without its line break, cut to MaxRejectedContentLength.
    private string RawLine()
    {
        var raw = _csv.Parser.RawRecord.TrimEnd('\r', '\n');
        return raw.Length <= MaxRejectedContentLength ? raw : raw[..MaxRejectedContentLength] + "…";
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
