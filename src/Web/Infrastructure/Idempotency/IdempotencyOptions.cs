using System.ComponentModel.DataAnnotations;

namespace Vigie.Web.Infrastructure.Idempotency;

/// <summary>How long idempotency keys are honoured (<c>Idempotency:*</c>).</summary>
public sealed class IdempotencyOptions
{
    /// <summary>
    /// Hours a key and its first answer are kept: a retry within this gets the original answer. 24 h covers a client
    /// that retries after an outage of a working day, as payment APIs do; after it the key may be used again.
    /// </summary>
    [Range(0.01, 24 * 30)]
    public double RetentionHours { get; set; } = 24;

    /// <summary>
    /// Seconds a repeat waits for the first request of its key to finish before answering 409: concurrent retries of
    /// one key then all get the one original answer, without holding a request for ever behind a stuck one.
    /// </summary>
    [Range(0.1, 300)]
    public double WaitSeconds { get; set; } = 15;

    /// <summary>Seconds between two rounds of deleting expired keys (each round deletes at most a bounded number).</summary>
    [Range(1, 86400)]
    public double CleanupIntervalSeconds { get; set; } = 300;
}
