using System.Xml.Linq;
using Dapper;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Vigie.Web.Infrastructure.Database;

namespace Vigie.Web.Infrastructure.DataProtection;

/// <summary>
/// ASP.NET Data Protection's key ring in PostgreSQL (<c>data_protection_keys</c>): the container's file system is
/// read-only, and keys held in memory died with the process, so each restart invalidated every antiforgery token of
/// the forms people had open, and two instances rejected each other's. Every instance reads and writes this one ring.
/// <para>
/// The ring is read when a form is first rendered or checked, which may come before the migrations ran or while the
/// database is down: then this throws <see cref="DatabaseUnavailableException"/> without trying, and the request
/// answers 503 (the page says the database is unavailable; <see cref="KeyRingCheck"/>). Once read, the framework keeps
/// the ring in memory and goes on with it through a later outage, re-reading it now and then.
/// </para>
/// <para>
/// The keys are stored as the framework writes them, unencrypted (it logs a warning when it creates one): whoever can
/// read this table can forge form tokens, as whoever can read the database can read everything else it holds.
/// </para>
/// </summary>
public sealed class DataProtectionKeyStore(VigieDatabase database, DatabaseStatus status) : IXmlRepository
{
    private const string Operation = "data_protection_keys";
    private volatile bool _read;

    /// <summary>True once the ring has been read from the database in this process.</summary>
    public bool HasBeenRead => _read;

    public IReadOnlyCollection<XElement> GetAllElements()
    {
        status.ThrowIfUnavailable(Operation);
        // Synchronous by the framework's interface; runs once at start and then about once a day.
        var xml = database.RunAsync(Operation, async connection =>
            (await connection.QueryAsync<string>("SELECT xml FROM data_protection_keys ORDER BY id")).ToList(), CancellationToken.None)
            .GetAwaiter().GetResult();
        _read = true;
        return xml.Select(x => XElement.Parse(x)).ToList();
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        ArgumentNullException.ThrowIfNull(element);
        status.ThrowIfUnavailable(Operation);
        database.RunAsync(Operation, connection => connection.ExecuteAsync("""
            INSERT INTO data_protection_keys (friendly_name, xml) VALUES (@friendlyName, @xml)
            ON CONFLICT (friendly_name) DO UPDATE SET xml = EXCLUDED.xml
            """, new { friendlyName, xml = element.ToString(SaveOptions.DisableFormatting) }), CancellationToken.None)
            .GetAwaiter().GetResult();
    }
}
