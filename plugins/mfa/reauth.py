"""MFA's answer to ``portal_second_factor``: re-authentication asks a user with MFA on for a
code too, checked like the sign-in step (replay guard, wrong codes counted towards the lockout
and audited with stage "reauth"); a user whose only second factor is a passkey gives the passkey
(plugins.mfa.passkey_reauth)."""

from __future__ import annotations

from flask import flash

from app.auth.reauth import FactorCheck, SecondFactor
from app.models import User, utcnow
from plugins.mfa import backup, passkey_reauth, service
from plugins.mfa.checks import normalize_code, verify_code
from plugins.mfa.forms import CODE_HELP, MAX_CODE_INPUT
from plugins.mfa.views import UNREADABLE, WRONG_CODE

LABEL = "Code from your app or a backup code"
HINT = "Two-factor sign-in is on: also enter the 6-digit code from your authenticator app, or a backup code."


def second_factor(user: User) -> SecondFactor | None:
    """The TOTP-or-backup-code factor of ``user``, if MFA is on for them; else their passkey,
    if they have one (a second factor the password alone must not stand in for)."""
    if not service.is_enabled(user.id):
        return passkey_reauth.second_factor(user) if service.has_passkey(user.id) else None
    return SecondFactor(label=LABEL, hint=HINT, check=lambda code: check_code(user, code))


def check_code(user: User, code: str) -> FactorCheck:
    """Check a re-authentication code; a malformed one is a form error and counts nothing."""
    if len(code) > MAX_CODE_INPUT or normalize_code(code) is None:
        return FactorCheck(ok=False, error=CODE_HELP, status=400)
    result = verify_code(user, code, stage="reauth")
    if result.ok:
        if result.method == "backup":
            left = result.backup_codes_left
            flash(
                f"You used a backup code; {left} left.",
                "warning" if left <= backup.LOW_WATER_MARK else "info",
            )
        return FactorCheck(ok=True)
    if result.locked_until:
        seconds = max(1, int((result.locked_until - utcnow()).total_seconds()))
        error = f"Too many wrong codes. Try again after {result.locked_until:%H:%M} UTC."
        return FactorCheck(ok=False, error=error, status=429, retry_after=seconds)
    if result.unreadable:
        return FactorCheck(ok=False, error=UNREADABLE, status=503)
    return FactorCheck(ok=False, error=WRONG_CODE, status=401)
