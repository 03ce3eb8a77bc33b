"""The search filters' validation: one WTForms form over the query string, shared by the search
page (which renders its errors) and the API (which answers the first one as a 400 naming it)."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from flask import current_app, request
from werkzeug.datastructures import MultiDict
from wtforms import DecimalField, Form, IntegerField, SelectField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import AnyOf, Length, NumberRange, Optional, ValidationError

from plugins.plans.models import PlanType
from plugins.plans.search import SORTS, Criteria

STATES = (
    "AK AL AR AZ CA CO CT DC DE FL GA HI IA ID IL IN KS KY LA MA MD ME MI MN MO MS MT NC ND NE NH NJ NM "
    "NV NY OH OK OR PA RI SC SD TN TX UT VA VT WA WI WV WY"
).split()
PLAN_TYPES = tuple(member.value for member in PlanType)
SORT_LABELS = {
    "premium": "Premium, lowest first",
    "-premium": "Premium, highest first",
    "deductible": "Deductible, lowest first",
    "-deductible": "Deductible, highest first",
    "moop": "Out-of-pocket maximum, lowest first",
    "-moop": "Out-of-pocket maximum, highest first",
    "-stars": "Star rating, best first",
    "stars": "Star rating, lowest first",
    "carrier": "Carrier, A to Z",
    "name": "Plan name, A to Z",
}
MAX_PREMIUM = 10_000
MAX_PAGE = 10_000
MAX_PER_PAGE = 100
MAX_TEXT = 80


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _canonical(choices: tuple[str, ...]):
    """A filter mapping any capitalisation of a choice onto its canonical spelling."""
    by_fold = {choice.casefold(): choice for choice in choices}
    return lambda value: by_fold.get(value.strip().casefold(), value) if isinstance(value, str) else value


def printable(form: Form, field) -> None:
    """Refuse control characters (PostgreSQL rejects NUL; nobody types the others)."""
    if field.data and any(ord(char) < 32 or ord(char) == 127 for char in field.data):
        raise ValidationError("must not contain control characters")


class AmountField(DecimalField):
    """A decimal that must be short and finite (DecimalField alone accepts NaN and Infinity)."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if valuelist and len(str(valuelist[0])) > 24:
            raise ValueError("is too long to be a number")
        super().process_formdata(valuelist)
        if self.data is not None and not self.data.is_finite():
            self.data = None
            raise ValueError("must be a finite number")


class BoundedIntegerField(IntegerField):
    """An integer that refuses long digit strings before parsing them."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if valuelist and len(str(valuelist[0])) > 9:
            raise ValueError("is too large")
        super().process_formdata(valuelist)


def _text(label: str, **render_kw: Any) -> StringField:
    return StringField(
        label,
        filters=[_strip],
        validators=[Optional(), Length(max=MAX_TEXT), printable],
        render_kw={"maxlength": MAX_TEXT, **render_kw},
    )


def _money(label: str) -> AmountField:
    return AmountField(
        label,
        places=2,
        validators=[Optional(), NumberRange(0, MAX_PREMIUM)],
        render_kw={"min": 0, "max": MAX_PREMIUM, "step": "0.01", "inputmode": "decimal"},
    )


def _round(value: Decimal | None, step: str, rounding: str) -> Decimal | None:
    """Round a bound onto the stored precision without changing which plans it admits."""
    return None if value is None else value.quantize(Decimal(step), rounding=rounding)


class SearchForm(Form):
    """The search filters, read from a query string (GET: no CSRF token needed)."""

    state = SelectField(
        "State",
        choices=[SelectChoice("", "Any state"), *map(SelectChoice, STATES)],
        validate_choice=False,
        filters=[_canonical(tuple(STATES))],
        validators=[Optional(), AnyOf(STATES, message="must be a two-letter US state code")],
    )
    county = _text("County", list="county-options")
    type = SelectField(
        "Plan type",
        choices=[SelectChoice("", "Any type"), *map(SelectChoice, PLAN_TYPES)],
        validate_choice=False,
        filters=[_canonical(PLAN_TYPES)],
        validators=[Optional(), AnyOf(PLAN_TYPES, message=f"must be one of: {', '.join(PLAN_TYPES)}")],
    )
    premium_min = _money("Premium from ($/month)")
    premium_max = _money("Premium up to ($/month)")
    min_stars = AmountField(
        "Minimum stars",
        places=1,
        validators=[Optional(), NumberRange(0, 5)],
        render_kw={"min": 0, "max": 5, "step": "0.5"},
    )
    carrier = _text("Carrier")
    sort = SelectField(
        "Sort by",
        choices=[SelectChoice(value, label) for value, label in SORT_LABELS.items()],
        default="premium",
        validate_choice=False,
        filters=[_strip],  # "  " is no sort at all (Optional would skip the check, not the value)
        validators=[Optional(), AnyOf(tuple(SORTS), message=f"must be one of: {', '.join(SORTS)}")],
    )
    page = BoundedIntegerField("Page", default=1, validators=[Optional(), NumberRange(1, MAX_PAGE)])
    per_page = BoundedIntegerField("Per page", validators=[Optional(), NumberRange(1, MAX_PER_PAGE)])

    def __init__(self, args: MultiDict, per_page: int):
        super().__init__(args, per_page=per_page)
        self.args = args
        self.default_per_page = per_page
        self.problems: dict[str, str] = {}

    @classmethod
    def from_request(cls) -> SearchForm:
        """The form bound to this request's query string, with the configured page size."""
        return cls(request.args, per_page=current_app.config["PLANS_PAGE_SIZE"])

    def validate(self, extra_validators=None) -> bool:
        """Validate the fields, then refuse unknown and repeated parameters."""
        valid = super().validate(extra_validators)
        self.problems = {name: errors[0] for name, errors in self.errors.items() if name and errors}
        for name in self.args:
            if name not in self._fields:
                self.problems.setdefault(name[:MAX_TEXT], "is not a search parameter")
            elif len(self.args.getlist(name)) > 1:
                self.problems.setdefault(name, "must be given once")
        low, high = self.premium_min.data, self.premium_max.data
        if not self.problems and low is not None and high is not None and low > high:
            self.premium_max.errors.append("must not be below premium_min")
            self.problems["premium_max"] = self.premium_max.errors[-1]
        return valid and not self.problems

    def summary(self) -> list[str]:
        """The problems for people: each under its field's label when it has one."""
        return [
            f"{self[name].label.text}: {message}" if name in self._fields else f"{name} {message}"
            for name, message in self.problems.items()
        ]

    def messages(self) -> list[tuple[str, str]]:
        """Each invalid parameter with a message that names it, in form order."""
        return [
            (name, f"{name} {message}" if message[:1].islower() else f"{name}: {message}")
            for name, message in self.problems.items()
        ]

    def criteria(self) -> Criteria:
        """The validated filters, normalized (call after a successful ``validate``)."""
        return Criteria(
            state=self.state.data or None,
            county=self.county.data or None,
            plan_type=self.type.data or None,
            premium_min=_round(self.premium_min.data, "0.01", ROUND_CEILING),
            premium_max=_round(self.premium_max.data, "0.01", ROUND_FLOOR),
            min_stars=_round(self.min_stars.data, "0.1", ROUND_CEILING),
            carrier=self.carrier.data or None,
            sort=self.sort.data or "premium",
            page=self.page.data or 1,
            per_page=self.per_page.data or self.default_per_page,
        )
