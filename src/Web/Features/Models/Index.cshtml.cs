using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Vigie.Web.Infrastructure.Security;

namespace Vigie.Web.Features.Models;

/// <summary>
/// The model registry side by side, and for an admin the lifecycle actions (train, shadow, promote, rollback). The admin
/// token is entered once; the page then keeps a signed session in an HttpOnly, SameSite=Strict cookie. Every action is
/// a POST with an antiforgery token and goes through <see cref="ModelLifecycle"/>, as the API does. Sign-in attempts
/// are limited per client (<see cref="SignInThrottle"/>): beyond the limit the form says when to try again (429).
/// </summary>
public sealed class IndexModel(ModelLifecycle models, AdminToken admin, SignInThrottle signIns) : PageModel
{
    public ModelRegistryView? Registry { get; private set; }

    public TrainingRunView? LatestRun { get; private set; }

    /// <summary>The version this instance serves right now.</summary>
    public string? ServedVersion => models.ServedVersion;

    public bool AdminConfigured => admin.IsConfigured;

    public bool IsAdmin { get; private set; }

    /// <summary>Where "Roll back" would go; null when there is nothing to roll back to (the button is then not offered).</summary>
    public string? RollbackTarget { get; private set; }

    [BindProperty]
    public string? Token { get; set; }

    [TempData]
    public string? Notice { get; set; }

    [TempData]
    public string? Problem { get; set; }

    public async Task<IActionResult> OnGetAsync(CancellationToken cancellationToken)
    {
        await LoadAsync(cancellationToken);
        return Page();
    }

    public async Task<IActionResult> OnPostLoginAsync(CancellationToken cancellationToken)
    {
        if (signIns.Refuse(HttpContext) is { } seconds)
        {
            ModelState.AddModelError(nameof(Token), $"Too many sign-in attempts from this address: try again in {seconds} s.");
            await LoadAsync(cancellationToken);
            return Page();
        }
        if (!admin.Matches(Token))
        {
            ModelState.AddModelError(nameof(Token), admin.IsConfigured ? "That is not the admin token." : "No admin token is configured.");
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            await LoadAsync(cancellationToken);
            return Page();
        }
        Response.Cookies.Append(AdminToken.CookieName, admin.NewSession(), new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Secure = Request.IsHttps,
            Path = "/Models",
            MaxAge = AdminToken.SessionLifetime,
            IsEssential = true,
        });
        Notice = "Signed in as admin for this browser session.";
        return RedirectToPage();
    }

    public IActionResult OnPostLogout()
    {
        Response.Cookies.Delete(AdminToken.CookieName, new CookieOptions { Path = "/Models" });
        Notice = "Signed out.";
        return RedirectToPage();
    }

    public Task<IActionResult> OnPostTrainAsync(CancellationToken cancellationToken) => AsAdminAsync(async () =>
    {
        switch (await models.TrainAsync(cancellationToken))
        {
            case TrainingRequestOutcome.Accepted accepted:
                Notice = $"Training run {accepted.Run.Id} queued: this page shows its progress.";
                break;
            case TrainingRequestOutcome.AlreadyRunning running:
                Problem = $"Training run {running.Run?.Id} is still {running.Run?.Status ?? "running"}; one run at a time.";
                break;
        }
    }, cancellationToken);

    public Task<IActionResult> OnPostShadowAsync(string version, CancellationToken cancellationToken) =>
        AsAdminAsync(async () => Report(await models.ShadowAsync(version, cancellationToken), $"Model {version} is in shadow: every new prediction is also scored by it."), cancellationToken);

    public Task<IActionResult> OnPostStopShadowAsync(string version, CancellationToken cancellationToken) =>
        AsAdminAsync(async () => Report(await models.StopShadowAsync(version, cancellationToken), $"Model {version} is no longer in shadow."), cancellationToken);

    public Task<IActionResult> OnPostPromoteAsync(string version, CancellationToken cancellationToken) =>
        AsAdminAsync(async () => Report(await models.PromoteAsync(version, cancellationToken), $"Model {version} is now active on every instance."), cancellationToken);

    public Task<IActionResult> OnPostRollbackAsync(CancellationToken cancellationToken) =>
        AsAdminAsync(async () => Report(await models.RollbackAsync(cancellationToken), null), cancellationToken);

    private void Report(RegistryChange change, string? done)
    {
        switch (change)
        {
            case RegistryChange.Changed changed:
                Notice = done ?? $"Rolled back to model {changed.Version} (from {changed.Replaced}) on every instance.";
                break;
            case RegistryChange.NotFound notFound:
                Problem = $"There is no model version '{notFound.Version}'.";
                break;
            case RegistryChange.Conflict conflict:
                Problem = $"{conflict.Title}: {conflict.Detail}";
                break;
        }
    }

    // Admin actions need the session cookie; without it the page answers 401 and changes nothing.
    private async Task<IActionResult> AsAdminAsync(Func<Task> action, CancellationToken cancellationToken)
    {
        if (!admin.IsValidSession(Request.Cookies[AdminToken.CookieName]))
        {
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            Problem = null;
            ModelState.AddModelError(nameof(Token), "Sign in with the admin token first.");
            await LoadAsync(cancellationToken);
            return Page();
        }
        await action();
        return RedirectToPage();
    }

    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        IsAdmin = admin.IsValidSession(Request.Cookies[AdminToken.CookieName]);
        Registry = await models.ListAsync(cancellationToken);
        LatestRun = await models.LatestRunAsync(cancellationToken);
        RollbackTarget = IsAdmin ? await models.RollbackTargetAsync(cancellationToken) : null;
    }
}
