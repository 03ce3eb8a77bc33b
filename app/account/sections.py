"""Sections of the account security page: the core's own and those plugins answer through the
``portal_account_sections`` hook, rendered in ``order``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import render_template
from markupsafe import Markup

from app.plugin import call_hook


@dataclass(frozen=True)
class AccountSection:
    """One section of ``/account/security``.

    ``key`` is the section's html id, ``template`` a Jinja template (shipped by the plugin that
    answers the hook) rendered with ``context`` as its variables (and ``section``), ``order``
    places it among the others (the core's sections use 10-30)."""

    key: str
    title: str
    template: str
    context: Mapping[str, Any] = field(default_factory=dict)
    order: int = 100


def plugin_sections(user) -> list[AccountSection]:
    """Every plugin's sections for ``user``, sorted by order (then title, for a stable page)."""
    sections: list[AccountSection] = []
    for answer in call_hook("portal_account_sections", user=user):
        sections.extend(_as_sections(answer))
    return sorted(sections, key=lambda section: (section.order, section.title))


def _as_sections(answer: AccountSection | Iterable[AccountSection]) -> list[AccountSection]:
    if isinstance(answer, AccountSection):  # one section without a list around it
        return [answer]
    found = list(answer)
    for item in found:
        if not isinstance(item, AccountSection):
            raise TypeError(f"portal_account_sections answered {type(item).__name__}, not AccountSection")
    return found


def render_section(section: AccountSection) -> Markup:
    """The section's html: its template rendered with its context (escaped as usual)."""
    # Jinja rendered it with autoescape on: the text is html already, every value escaped.
    return Markup(render_template(section.template, section=section, **section.context))  # noqa: S704
