"""Security notices by e-mail to the account's owner: a sign-in from a browser the account has
not seen, a changed password, second factor or passkey, and a lockout.

Emitted from the security events the portal already sends (``security_event``): no view needs
to know about mail. A notice never carries a secret, a code or a link with a token, only what
happened, when, from which browser and address, and where to look. Each user gets at most
ACCOUNT_NOTICES_PER_HOUR of them (lockout notices one an hour, counted apart), in the rate
limiter's storage (shared by every worker, exact at any concurrency); mail leaves through
app.mail's background sender.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from flask import Flask, current_app, has_request_context, request
from limits import RateLimitItemPerHour

from app import mail
from app.account.browsers import describe
from app.events import EventType
from app.extensions import db, limiter
from app.models import User, utcnow
from app.signals import security_event

log = logging.getLogger(__name__)

SUBJECTS = {
    "new_browser": "New sign-in to your account",
    "password": "Your password was changed",
    "second_factor_on": "Two-factor sign-in was turned on",
    "second_factor_off": "Two-factor sign-in was turned off",
    "passkey_added": "A passkey was added to your account",
    "passkey_removed": "A passkey was removed from your account",
    "locked": "Sign-in to your account was locked",
    "email_changed": "The e-mail address of your account was changed",
}
WHAT = {
    "new_browser": "Someone signed in to your account from a browser it has not used before.",
    "password": "The password of your account was changed.",
    "second_factor_on": "Two-factor sign-in (an authenticator app) was turned on for your account.",
    "second_factor_off": "Two-factor sign-in was turned off for your account.",
    "passkey_added": "A passkey was added to your account.",
    "passkey_removed": "A passkey was removed from your account.",
    "locked": "Sign-in to your account was locked after repeated wrong passwords or codes.",
    "email_changed": "The address security notices go to was changed; this is the old one.",
}


def notice_kind(kind: EventType, metadata: Mapping[str, Any]) -> str | None:
    """Which notice a security event calls for (None: none)."""
    passkey = metadata.get("method") == "passkey"
    if kind == EventType.LOGIN_SUCCESS and metadata.get("stage") != "reauth":
        return "new_browser"
    if kind in (EventType.PASSWORD_CHANGE, EventType.PASSWORD_RESET):
        return "password"
    if kind == EventType.MFA_ENABLED:
        return "passkey_added" if passkey else "second_factor_on"
    if kind == EventType.MFA_DISABLED:
        return "passkey_removed" if passkey else "second_factor_off"
    if metadata.get("locked") is True:
        return "locked"
    return None


def browser_is_known(user: User) -> bool:
    """Whether this request comes with a valid device cookie of ``user`` (app.auth.devices).

    Without that module every browser counts as unseen: "no device cookie" is the rule."""
    try:
        devices = importlib.import_module("app.auth.devices")
    except ImportError:
        return False
    return devices.device_of(user) is not None


def _allowed(user_id: int, kind: str = "") -> bool:
    """Spend one of the user's notices this hour; False when they are used up.

    A lockout is the one notice a stranger can cause (wrong guesses need no password), so it
    has a budget of its own, one an hour: repeated lockouts neither flood the mailbox nor use up
    the notices that would tell the owner of a sign-in or a change."""
    per_hour = current_app.config["ACCOUNT_NOTICES_PER_HOUR"]
    if per_hour <= 0:
        return False
    scope, item = "account-notice", RateLimitItemPerHour(per_hour)
    if kind == "locked":
        scope, item = "account-notice-locked", RateLimitItemPerHour(1)
    try:
        return limiter.strategy.hit(item, scope, str(user_id))
    except Exception:  # the limiter's storage is down: no notice rather than a broken request
        log.warning("account notice for user %s skipped: the limit's storage is unreachable", user_id)
        return False


def build_message(user: User, kind: str, address: str, context: Mapping[str, str]) -> EmailMessage:
    """The notice: what happened, when, the browser and address, what to do. Nothing secret."""
    config = current_app.config
    message = EmailMessage()
    message["Subject"] = f"[El-Mag portal] {SUBJECTS[kind]}"
    message["From"] = config["MAIL_FROM"]
    message["To"] = address
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="portal-notice")
    lines = [
        f"Hello {user.username},",
        "",
        WHAT[kind],
        "",
        f"When: {context['when']}",
        f"Browser: {context['browser']}",
        f"Address: {context['address']}",
        "",
        "If this was you, there is nothing to do.",
        "If it was not, change your password now and sign out the sessions you do not know",
        "on the account security page of the portal (Account in the menu, /account/security).",
    ]
    message.set_content("\n".join(lines))
    return message


def send_notice(user: User, kind: str, address: str | None = None) -> bool:
    """Queue notice ``kind`` to ``user`` (at ``address``, default their e-mail); True if queued."""
    address = address or user.email
    if not address or not _allowed(user.id, kind):
        return False
    context = {
        "when": utcnow().strftime("%Y-%m-%d %H:%M UTC"),
        "browser": describe(request.user_agent.string) if has_request_context() else "the command line",
        "address": (request.remote_addr or "unknown") if has_request_context() else "the command line",
    }
    return mail.mailer().submit(build_message(user, kind, address, context))


def _subject_of(user: Any, metadata: Mapping[str, Any]) -> User | None:
    """The account the event is about: an admin's action names its target in the metadata."""
    target = metadata.get("target_user_id")
    if isinstance(target, int) and not isinstance(target, bool):
        return db.session.get(User, target)
    return user if isinstance(user, User) else None


def on_security_event(sender: Flask, *, kind, user=None, metadata=None, **_: Any) -> None:
    """Send the notice an event calls for. Never fails the request that emitted the event."""
    metadata = metadata or {}
    try:
        notice = notice_kind(kind, metadata)
        if notice is None:
            return
        account = _subject_of(user, metadata)
        if account is None or not account.email:
            return
        if notice == "new_browser" and browser_is_known(account):
            return
        send_notice(account, notice)
    except Exception:
        log.exception("security notice for a %s event failed", kind)


def account_locked(user: User) -> bool:
    """Tell ``user`` their sign-in was locked (for lockouts that send no event naming them)."""
    return bool(user.email) and send_notice(user, "locked")


def init_app(app: Flask) -> None:
    security_event.connect(on_security_event, sender=app)
