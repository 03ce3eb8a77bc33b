"""Sections of the account security page: the core's own and those plugins answer through the
``portal_account_sections`` hook, rendered in ``order``.

A section with an order below SIGN_IN_METHODS_END is a way to sign in (TOTP, passkeys): it is
listed under "Sign-in methods", after the password. The others (the default order, 100, and
above) follow the core's sections (e-mail, sessions, activity)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import render_template
from markupsafe import Markup

from app.plugin import call_hook

SIGN_IN_METHODS_END = 100


@dataclass(frozen=True)
class AccountSection:
    """One section of ``/account/security``.

    ``key`` is the section's html id, ``template`` a Jinja template (shipped by the plugin that
    answers the hook) rendered with ``context`` as its variables (and ``section``), ``order``
    places it among the others: below SIGN_IN_METHODS_END among the sign-in methods (the mfa
    plugin's TOTP uses 40), else after the core's sections."""

    key: str
    title: str
    template: str
    context: Mapping[str, Any] = field(default_factory=dict)
    order: int = 100

    @property
    def is_sign_in_method(self) -> bool:
        return self.order < SIGN_IN_METHODS_END


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
