"""Wrong-answer limits of the AUTH and MFA policies: only wrong passwords and codes count, each
guess takes its place before it is checked (app.auth.guesses), and a right one gives it back.

Sign-in (AUTH) is device-aware. A browser without a valid device cookie for the account is
limited per client address (RATE_LIMIT_AUTH) and per account across addresses
(RATE_LIMIT_AUTH_ACCOUNT): that is where a stranger's guesses land. A browser that signed in to
the account before is limited only by its own failures (RATE_LIMIT_AUTH_DEVICE, per device id),
so the account's lockout does not reach its owner's usual browser. MFA policy endpoints count
wrong codes per address (RATE_LIMIT_MFA), an outer bound over the mfa plugin's own limits.
"""

from __future__ import annotations

import time

from flask import Flask, current_app, g, request
from flask_login import current_user

from app.auth import guesses
from app.auth.devices import device_of
from app.auth.guesses import GuessLimit, GuessRefused, Reservation
from app.auth.service import find_account, keyed_digest
from app.events import EventType, Severity
from app.extensions import db
from app.models import User
from app.signals import emit_security_event, lockout_lifted
from plugins.security import policies
from plugins.security.audit import log_event
from plugins.security.rejection import record_rejection, too_many_requests

RESERVATION = "_security_guess"  # g: the places this request's guess holds
DEVICE_SCOPE = "auth-device"
ACCOUNT_SCOPE = "auth-account"

MESSAGES = {
    "auth-ip": "Too many failed sign-ins from your address. A browser that has signed in to your "
    "account before can still sign in; from any other, please wait.",
    ACCOUNT_SCOPE: "Too many failed sign-ins for this account from browsers that have not signed "
    "in to it before. A browser you have signed in with before can still sign in; from any other, "
    "please wait.",
    DEVICE_SCOPE: "Too many failed sign-ins from this browser. Please wait, or ask an administrator "
    "to unlock your account.",
    "mfa-ip": "Too many wrong codes from your address. Please wait a few minutes and try again.",
}


def device_limit() -> str:
    """RATE_LIMIT_AUTH_DEVICE, or the account's allowance when it is not set."""
    config = current_app.config
    return config["RATE_LIMIT_AUTH_DEVICE"] or config["RATE_LIMIT_AUTH_ACCOUNT"]


def device_key(user, device: str) -> str:
    generation = guesses.generation(DEVICE_SCOPE, str(user.id))
    return f"device:{user.id}:{generation}:{keyed_digest(device)}"


def _account_user():
    """The user the guess is for (id, password hash, active): the named one, or the signed-in
    one (a password change)."""
    if request.form.get("username") is None and current_user.is_authenticated:
        return current_user._get_current_object()
    return find_account(policies.submitted_username())


def request_limits() -> list[GuessLimit]:
    """The limits this request's guess must fit in (see the module docstring)."""
    policy, limit = policies.current_policy()
    per_address = GuessLimit(policy, f"{policy.lower()}-ip", policies.ip_key(), limit)
    if policy != "AUTH" or not policies.submitted_username():
        return [per_address]
    user = _account_user()
    device = device_of(user)
    if user is not None and device is not None:
        return [GuessLimit(policy, DEVICE_SCOPE, device_key(user, device), device_limit())]
    account_limit = current_app.config["RATE_LIMIT_AUTH_ACCOUNT"]
    return [per_address, GuessLimit(policy, ACCOUNT_SCOPE, policies.account_key(), account_limit)]


def _identifier(limit: GuessLimit) -> str:
    """How rejections name the limit's key: a device by its user, never by its id."""
    if limit.scope == DEVICE_SCOPE:
        return "device:user-" + limit.key.split(":")[1]
    return limit.key


def reserve():
    """Guard step: take this guess's places, or answer 429. Returns (response or None, whether
    the address's own sign-in limit refused it: only that counts towards a ban, since an
    account's or a browser's lockout is not the address's doing)."""
    reservation = guesses.reserve_guess(request_limits())
    if reservation.ok:
        g.setdefault(RESERVATION, reservation)
        return None, False
    limit, item = reservation.refused, reservation.refused_item
    identifier = _identifier(limit)
    if current_app.config["RATE_LIMIT_DRY_RUN"]:
        log_event(
            EventType.SUSPICIOUS_ACTIVITY,
            Severity.LOW,
            description=f"rate limit would reject on {request.endpoint} ({item}); dry run",
            metadata={"reason": "rate_limit", "dry_run": True, "identifier": identifier, "limit": str(item)},
        )
        return None, False
    record_rejection(identifier, str(item))
    response = too_many_requests(
        MESSAGES.get(limit.scope, MESSAGES["auth-ip"]),
        retry_after=reservation.retry_after,
        identifier=identifier,
        limit=str(item),
    )
    _headers(response, limit.policy, item.amount, item.get_expiry(), 0, reservation.retry_after)
    return response, limit.scope == "auth-ip"


def settle(response):
    """after_request: keep the places of a wrong guess (401, or a failure mid-check); give the
    others back. Adds the rate-limit headers of the tightest limit."""
    reservation: Reservation | None = g.pop(RESERVATION, None)
    if reservation is None:
        return response
    place = reservation.tightest()
    status = response.status_code
    kept = status == 401 or status >= 500
    # An anonymous sign-in form refused before its password was checked (400: no or a stale CSRF
    # token) still counts for its address: a script posting without the token must meet the
    # address's limit and bans like one guessing passwords.
    refused_form = status == 400 and not current_user.is_authenticated
    if not kept:
        reservation.release(keep=lambda held: refused_form and held.limit.scope == "auth-ip")
    elif status == 401:
        tell_if_locked(reservation)
    if place is not None:
        remaining = place.remaining if place in reservation.places else place.remaining + 1
        reset = max(0, int(place.reset_at - time.time()))
        _headers(response, place.limit.policy, place.item.amount, place.item.get_expiry(), remaining, reset)
    return response


def tell_if_locked(reservation: Reservation) -> None:
    """A wrong guess that took the account's last place locked it: record that on the account,
    as an event whose ``locked: true`` has the core's notices (app.account.notices) tell its
    owner, queued so that SMTP never holds the response. Only that guess can: refused ones hold
    no place. Concurrent guesses that fill the last places together may each see the account
    full; the notices' lock allowance (one an hour, atomic) lets one mail through."""
    full = [p for p in reservation.places if p.limit.scope == ACCOUNT_SCOPE and p.remaining == 0]
    if not full:
        return
    try:
        account = _account_user()
        user = db.session.get(User, account.id) if account is not None else None
        if user is None:
            return
        emit_security_event(
            EventType.SUSPICIOUS_ACTIVITY,
            Severity.MEDIUM,
            user=user,
            description="sign-in locked for new browsers after repeated wrong passwords",
            metadata={
                "reason": "account_locked",
                "locked": True,
                "username": user.username,
                "limit": str(full[0].item),
            },
        )
    except Exception:  # the notice must never fail the answer to the guess
        current_app.logger.exception("could not record the account's lock")


def _headers(response, policy: str, amount: int, window: int, remaining: int, reset: int | None) -> None:
    """As the general limit's (``limiting.general_limit_headers``): the IETF fields on every
    answer, flask-limiter's as well on a refusal."""
    name = policy.lower()
    headers = response.headers
    if response.status_code == 429:
        headers["X-RateLimit-Limit"] = str(amount)
        headers["X-RateLimit-Remaining"] = str(remaining)
        headers["X-RateLimit-Reset"] = str(int(time.time()) + (reset or 0))
    headers["RateLimit-Policy"] = f'"{name}";q={amount};w={window}'
    headers["RateLimit"] = f'"{name}";r={remaining};t={reset or 0}'


def handle_refused_guess(refused: GuessRefused):
    """Error handler: a guess refused by a plugin's own limit (the mfa plugin's wrong codes) is
    recorded like the plugin's rejections and answered with its 429 page."""
    record_rejection(refused.identifier, refused.limit)
    return too_many_requests(
        refused.description,
        retry_after=refused.retry_after,
        identifier=refused.identifier,
        limit=refused.limit,
    )


def forget_failures(sender, user: User, **_) -> None:
    """An administrator lifted ``user``'s lockouts: forget the failures counted for the account
    and for every browser of it."""
    key = policies.account_key_for(user.username)
    guesses.forget_guesses(ACCOUNT_SCOPE, key, current_app.config["RATE_LIMIT_AUTH_ACCOUNT"])
    guesses.next_generation(DEVICE_SCOPE, str(user.id))


def setup(app: Flask) -> None:
    app.register_error_handler(GuessRefused, handle_refused_guess)
    lockout_lifted.connect(forget_failures, sender=app)
