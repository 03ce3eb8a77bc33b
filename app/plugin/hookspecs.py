"""The extension points plugins may answer: one function per hook, its signature the contract.

A plugin answers a hook by putting a function in ``Plugin.hooks`` under the hook's name. pluggy
checks each answer against the specification below when the portal starts: an answer may take
fewer arguments than the hook passes (in any order, matched by name), never one it does not
pass, and a name that is no hook fails start-up. Hooks marked ``firstresult`` stop at the first
answer that is not None; call them with ``first_hook_result``, the others with ``call_hook``
(a list of every answer that is not None). Both pass arguments by keyword only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from flask.typing import ResponseReturnValue

    from app.account.sections import AccountSection
    from app.auth.reauth import SecondFactor
    from app.caching import CacheProvider
    from app.models import User
    from app.plugin import NavItem

PROJECT = "portal"
hookspec = pluggy.HookspecMarker(PROJECT)


@hookspec(firstresult=True)
def portal_after_password(user: User, next_url: str | None) -> ResponseReturnValue | None:
    """Take over sign-in after the password step passed, or return None to let it complete.

    A response (e.g. a redirect to a second factor) holds the sign-in back: the user is not
    signed in until that plugin calls ``app.auth.service.complete_login``.
    """


@hookspec(firstresult=True)
def portal_second_factor(user: User) -> SecondFactor | None:
    """Return the second factor ``user`` must give at /auth/reauth besides the password.

    A label, a hint and a check of the code that counts and audits wrong codes; None when this
    plugin holds none for the user.
    """


@hookspec
def portal_account_sections(user: User) -> Iterable[AccountSection]:
    """Return the sections this plugin adds to /account/security for ``user``.

    Each names a template the plugin ships, rendered with the section's context and placed by
    its order after the core's sections (e.g. second factors, passkeys).
    """


@hookspec
def portal_login_options() -> Iterable[str]:
    """Return the templates this plugin adds to the sign-in page /auth/login, below the form.

    Each is included with the page's context (``form`` among it) and brings what it needs (a
    button and a script file: no inline script passes the Content-Security-Policy), e.g. the
    mfa plugin's passkey sign-in.
    """


@hookspec(firstresult=True)
def portal_account_activity(user: User, limit: int) -> Iterable[Mapping] | None:
    """Return the newest ``limit`` security events of ``user``'s account, newest first.

    Mappings with 'created_at' (datetime), 'event_type', 'severity', 'description' and
    'ip_address'; None when this plugin records none.
    """


@hookspec
def portal_nav_items(user: User) -> Iterable[NavItem]:
    """Return navigation entries for the signed-in ``user``; the core hides admin entries."""


@hookspec
def portal_demo_seed(users: dict[str, User]) -> Iterable[str]:
    """Add this plugin's demo data (idempotently) for ``flask demo seed``; return lines to print.

    ``users`` maps 'admin' and 'client' to the demo users.
    """


@hookspec(firstresult=True)
def portal_mfa_adoption() -> Mapping[str, Any] | None:
    """Return the MFA adoption figures (users, enrolled, ratio, ...) the MFA plugin publishes."""


@hookspec(firstresult=True)
def portal_cache_stats() -> Mapping[str, Any] | None:
    """Return the cache's figures (backend, hits, misses, ratio, entries, bytes, ...)."""


@hookspec
def portal_readiness() -> Mapping[str, bool]:
    """Return this plugin's extra /readyz checks, by dependency name (True when reachable).

    The core checks the database and REDIS_URL (rate limits, scheduler lock) itself; the cache
    plugin answers for its own Redis (CACHE_REDIS_URL may name another server).
    """


@hookspec(firstresult=True)
def portal_cache_provider() -> CacheProvider | None:
    """Return the tagged cache behind ``app.caching``; without one, every call computes directly."""


@hookspec
def portal_openapi() -> Mapping[str, Any]:
    """Return this plugin's part of the OpenAPI 3.1 document at /api/v1/openapi.json.

    A mapping with 'paths' (keys relative to the server URL /api/v1, e.g. '/plans/search') and
    optionally 'components' ({'schemas': {...}}) and 'tags'. Every /api/v1 route of the plugin
    must be described.
    """
