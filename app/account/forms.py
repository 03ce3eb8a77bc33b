"""Forms of the account security page."""

from __future__ import annotations

from wtforms import StringField
from wtforms.validators import Length, ValidationError

from app.forms import PortalForm
from app.mail import MAX_ADDRESS_LENGTH, normalize_address


class EmailForm(PortalForm):
    """The address security notices go to; empty removes it."""

    email = StringField("E-mail for security notices", validators=[Length(max=MAX_ADDRESS_LENGTH + 2)])

    def validate_email(self, field) -> None:
        text = (field.data or "").strip()
        if not text:
            field.data = None
            return
        try:
            field.data = normalize_address(text)
        except ValueError as error:
            raise ValidationError(str(error)) from None
