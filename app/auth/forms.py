"""Sign-in and password forms (flask-wtf: CSRF on each)."""

from __future__ import annotations

from flask_login import current_user
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from app.api import has_control_characters
from app.auth.passwords import MAX_PASSWORD_LENGTH, password_problems
from app.forms import PortalForm


def no_control_characters(form, field) -> None:
    """Refuse control characters (NUL among them, which PostgreSQL refuses in text)."""
    if has_control_characters(field.data or ""):
        raise ValidationError("Use letters, digits and punctuation only.")


class LoginForm(PortalForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=80), no_control_characters])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)])


class PasswordChangeForm(PortalForm):
    current_password = PasswordField(
        "Current password", validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)]
    )
    new_password = PasswordField("New password", validators=[DataRequired()])
    confirm_password = PasswordField(
        "Repeat the new password",
        validators=[DataRequired(), EqualTo("new_password", message="The two new passwords differ.")],
    )

    def validate_new_password(self, field) -> None:
        problems = password_problems(field.data or "", current_user.username)
        if problems:
            raise ValidationError(" ".join(problems))
        if field.data == self.current_password.data:
            raise ValidationError("Choose a password different from the current one.")


class ReauthForm(PortalForm):
    """Confirm it is you: the password, and the second factor's code when the account has one."""

    password = PasswordField(
        "Password",
        validators=[DataRequired(message="Enter your password."), Length(max=MAX_PASSWORD_LENGTH)],
    )
    code = StringField(
        "Code",
        validators=[Length(max=64, message="That code is too long.")],
        render_kw={"autocomplete": "one-time-code", "spellcheck": "false", "autocapitalize": "off"},
    )
