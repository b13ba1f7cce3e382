using System.ComponentModel.DataAnnotations;

namespace Vigie.Web.Infrastructure.Security;

/// <summary>
/// Per-client request limits (<c>RateLimits:*</c>), counted per client address in fixed windows. A count of 0 turns
/// that limit off.
/// </summary>
/// <remarks>
/// The client is the connection's address (an IPv6 client by its /64, which one host owns). Behind a reverse proxy,
/// or a container engine whose port forwarding hides the source address (rootless Docker), every client shares the
/// proxy's address and so one budget: raise the limits there, or turn the write limit off.
/// </remarks>
public sealed class RateLimitOptions
{
    /// <summary>
    /// Admin sign-in attempts (the Models page's token form) per client per <see cref="SignInWindowSeconds"/>, right or
    /// wrong. A person types the token once per session; guessing it needs many tries, so the limit is low.
    /// </summary>
    [Range(0, int.MaxValue)]
    public int SignInAttempts { get; set; } = 5;

    [Range(1, 86400)]
    public double SignInWindowSeconds { get; set; } = 60;

    /// <summary>
    /// Batch uploads (<c>POST /api/predictions/batch</c> and the Batch page, one budget) per client per
    /// <see cref="UploadWindowSeconds"/>. Each may be <c>Batch:MaxUploadBytes</c> of rows, all scored and copied in one
    /// transaction: the most expensive request the app takes.
    /// </summary>
    [Range(0, int.MaxValue)]
    public int Uploads { get; set; } = 30;

    [Range(1, 86400)]
    public double UploadWindowSeconds { get; set; } = 60;

    /// <summary>
    /// Write API requests (predictions, feedback, the model admin actions, Alertmanager's notifications) per client per
    /// <see cref="WriteWindowSeconds"/>. Generous on purpose: 2,000 a second is far beyond any client a person writes,
    /// and a sixth of what the app serves on two cores (README, Reliability and performance), so one runaway client cannot
    /// take it all. The benchmark and the soak turn it off: their one load generator is meant to find the app's ceiling.
    /// </summary>
    [Range(0, int.MaxValue)]
    public int Writes { get; set; } = 2000;

    [Range(0.1, 3600)]
    public double WriteWindowSeconds { get; set; } = 1;
}
