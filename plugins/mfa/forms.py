"""MFA forms (flask-wtf: CSRF on each). A code is a 6-digit TOTP or an 8-character backup code."""

from __future__ import annotations

from collections.abc import Callable

from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from app.auth.passwords import MAX_PASSWORD_LENGTH
from app.forms import PortalForm
from plugins.mfa.checks import normalize_code
from plugins.mfa.totp import TOTP_PATTERN

CODE_HELP = "Enter the 6-digit code from your authenticator app or an 8-character backup code."
TOTP_HELP = "Enter the 6-digit code from your authenticator app."
MAX_CODE_INPUT = 32  # room for spaces and dashes a user may type or paste


def _normalized(data: str | None) -> str | None:
    return normalize_code(data) if data and len(data) <= MAX_CODE_INPUT else None


def any_code(form, field) -> None:
    if _normalized(field.data) is None:
        raise ValidationError(CODE_HELP)


def totp_code(form, field) -> None:
    if not TOTP_PATTERN.fullmatch(_normalized(field.data) or ""):
        raise ValidationError(TOTP_HELP)


def code_field(label: str, shape: Callable) -> StringField:
    return StringField(
        label,
        validators=[DataRequired(message="Enter a code."), shape],
        render_kw={"autocomplete": "one-time-code", "spellcheck": "false", "autocapitalize": "off"},
    )


class VerifyForm(PortalForm):
    code = code_field("Code", any_code)


class SetupForm(PortalForm):
    code = code_field("Code from your app", totp_code)


class DisableForm(PortalForm):
    password = PasswordField(
        "Password",
        validators=[DataRequired(message="Enter your password."), Length(max=MAX_PASSWORD_LENGTH)],
    )
    code = code_field("Code from your app or a backup code", any_code)


class RegenerateForm(PortalForm):
    """New backup codes are second factors: make the user prove it is them (the password)."""

    password = PasswordField(
        "Password",
        id="regenerate-password",  # the turn-off form on the same page has a password field too
        validators=[DataRequired(message="Enter your password."), Length(max=MAX_PASSWORD_LENGTH)],
    )


class ConfirmForm(PortalForm):
    """A POST-only action form: the CSRF token is all it carries."""


class PasskeyRenameForm(PortalForm):
    name = StringField(
        "New name",
        validators=[
            DataRequired(message="Enter a name for the passkey."),
            Length(max=64, message="A passkey's name has at most 64 characters."),
        ],
    )


class PasskeyRemoveForm(PortalForm):
    """A POST-only action form: the CSRF token is all it carries."""
