"""Forms of the security console (flask-wtf: CSRF and validation)."""

from __future__ import annotations

from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.forms import PortalForm
from plugins.security.threats.models import AlertStatus

STATUS_CHOICES = [
    SelectChoice(status.value, status.value.replace("_", " ").title()) for status in AlertStatus
]


class AlertUpdateForm(PortalForm):
    status = SelectField("Status", choices=STATUS_CHOICES, validators=[DataRequired()])
    assigned_to = SelectField("Assignee", choices=[], validate_choice=True)
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=4000)])


class BlockForm(PortalForm):
    minutes = IntegerField("Minutes", default=60, validators=[DataRequired(), NumberRange(1, 525_600)])
    reason = StringField(
        "Reason", default="blocked by an admin", validators=[DataRequired(), Length(max=300)]
    )
