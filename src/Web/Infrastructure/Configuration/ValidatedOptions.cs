using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Vigie.Web.Infrastructure.Configuration;

/// <summary>
/// Binds a configuration section to its options class and checks the class's data annotations when the host starts:
/// a value out of range (<c>Database__ProbeIntervalSeconds=0</c>, a negative size, a port beyond 65535) stops start-up
/// with a message naming the configuration key, instead of crashing a background service later or being used as is.
/// </summary>
public static class ValidatedOptions
{
    /// <summary>
    /// <c>AddOptions&lt;T&gt;().Bind(section)</c> validated on start, and <typeparamref name="T"/> itself registered as
    /// a singleton (its validated value) for the services that take it directly.
    /// </summary>
    public static IServiceCollection AddValidatedOptions<T>(this IServiceCollection services, IConfiguration configuration, string section)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<T>().Bind(configuration.GetSection(section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<T>>(new SectionValidator<T>(section));
        services.AddSingleton(provider => provider.GetRequiredService<IOptions<T>>().Value);
        return services;
    }

    /// <summary>
    /// The data annotations of <typeparamref name="T"/>, each failure reported as <c>Section:Property: message</c> (the
    /// framework's own validator names the class and the property, not the key a user sets).
    /// </summary>
    private sealed class SectionValidator<T>(string section) : IValidateOptions<T>
        where T : class
    {
        public ValidateOptionsResult Validate(string? name, T options)
        {
            if (name != Options.DefaultName)
            {
                return ValidateOptionsResult.Skip;
            }
            var results = new List<ValidationResult>();
            return Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true)
                ? ValidateOptionsResult.Success
                : ValidateOptionsResult.Fail(results.Select(r => $"{section}:{string.Join(",", r.MemberNames)}: {r.ErrorMessage}"));
        }
    }
}
