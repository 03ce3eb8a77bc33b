"""The extension points plugins may answer, by name. Unknown names fail at start-up.

A plugin answers a hook by putting a function in ``Plugin.hooks`` under the hook's name. The core
(or any plugin) calls it with ``call_hook`` (every answer) or ``first_hook_result`` (the first
non-None answer, for hooks marked ``first``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HookSpec:
    name: str
    signature: str
    doc: str
    first: bool = False


HOOKSPECS: dict[str, HookSpec] = {
    spec.name: spec
    for spec in (
        HookSpec(
            "portal_after_password",
            "(user, next_url: str | None) -> flask.Response | None",
            "After the password step passed. Return a response (e.g. a redirect to a second "
            "factor) to take over the sign-in; the user is then not signed in until that plugin "
            "calls app.auth.service.complete_login. Return None to let sign-in complete.",
            first=True,
        ),
        HookSpec(
            "portal_second_factor",
            "(user) -> app.auth.reauth.SecondFactor | None",
            "The second factor ``user`` must give, besides the password, to re-authenticate at "
            "/auth/reauth before a sensitive change: a label, a hint and a check of the code that "
            "counts and audits wrong codes. Return None when this plugin holds none for the user.",
            first=True,
        ),
        HookSpec(
            "portal_account_sections",
            "(user) -> Iterable[app.account.sections.AccountSection]",
            "Sections this plugin adds to the account security page /account/security for "
            "``user`` (e.g. second factors, passkeys): each names a template the plugin ships, "
            "rendered with the section's context, placed by its order after the core's sections.",
        ),
        HookSpec(
            "portal_account_activity",
            "(user, limit: int) -> Iterable[Mapping] | None",
            "The newest ``limit`` security events of ``user``'s account, newest first, for the "
            "account security page: mappings with 'created_at' (datetime), 'event_type', "
            "'severity', 'description' and 'ip_address'. None when this plugin records none.",
            first=True,
        ),
        HookSpec(
            "portal_request_guard",
            "() -> flask.Response | None",
            "Runs first for every request, before CSRF, idle-timeout and access checks (IP "
            "blocks, bans, rate limits). Return a response to answer the request with it.",
            first=True,
        ),
        HookSpec(
            "portal_nav_items",
            "(user) -> Iterable[NavItem]",
            "Navigation entries for the signed-in ``user``; admin-only entries are filtered out "
            "for clients by the core.",
        ),
        HookSpec(
            "portal_demo_seed",
            "(users: dict[str, User]) -> Iterable[str]",
            "Add this plugin's demo data (idempotently) for ``flask demo seed``; ``users`` maps "
            "'admin' and 'client' to the demo users. Return lines to print.",
        ),
        HookSpec(
            "portal_stats",
            "(topic: str) -> Mapping | None",
            "Figures a plugin publishes for other plugins' dashboards, by topic: 'mfa_adoption' "
            "(MFA), 'cache' (cache stats), ... Return None for a topic you do not know.",
            first=True,
        ),
        HookSpec(
            "portal_readiness",
            "() -> Mapping[str, bool]",
            "Extra readiness checks for /readyz, by dependency name (True when reachable).",
        ),
        HookSpec(
            "portal_cache_provider",
            "() -> object | None",
            "A tagged cache service for app.caching (get_or_set, delete_by_tags, ...); the cache "
            "plugin answers it. Without an answer, app.caching computes every call directly.",
            first=True,
        ),
        HookSpec(
            "portal_openapi",
            "() -> Mapping",
            "This plugin's part of the OpenAPI 3.1 document at /api/v1/openapi.json: a mapping "
            "with 'paths' (keys relative to the server URL /api/v1, e.g. '/plans/search'), and "
            "optionally 'components' ({'schemas': {...}}) and 'tags'. Every /api/v1 route of the "
            "plugin must be described.",
        ),
    )
}
