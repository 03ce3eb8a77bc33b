"""Inputs that make a backtracking engine pay, built from the signatures' own pieces (their
quotes, brackets, keywords and whitespace, repeated), and benign text of the same size: shared by
bench/bench_inspection.py and the linear-time tests."""

from __future__ import annotations

from collections.abc import Callable

from plugins.security import patterns
from plugins.security.linear import prepare
from tests.security import legacy_patterns

# (head, piece): the input is ``head`` followed by ``piece`` repeated up to the size.
ADVERSARIAL: dict[str, tuple[tuple[str, str], ...]] = {
    "sql_injection": (
        ("'", " "),  # the sign-in body of the issue: a quote, then spaces
        ("'", "\t"),
        ("", "' "),
        ("", "'"),
        ("", "; "),
        ("", "' or "),
        ("", "or 1 "),
        ("", "union select a"),
        ("", "select a,"),
        ("", "cast("),
        ("", "case when "),
        ("", "char(1,"),
        ("", "or 'a"),
        ("", "/*"),
    ),
    "xss": (
        ("", "<"),  # 21,000 '<' of the issue
        ("", "< "),
        ("", "<a "),
        ("", "<a on"),
        ("", "<img a"),
        ("'", " "),
        ("", "on"),
        ("", "href="),
        ("", "alert("),
        ("", "document ."),
    ),
    "path_traversal": (
        ("", ".."),
        ("", "/"),
        ("", "=.."),
        ("", "..\\"),
        ("", " "),
        ("", "/etc"),
        ("", "file:/"),
    ),
}
# An ordinary letter that goes through every signature (apostrophe, brackets, digits, ';').
BENIGN_TEXT = (
    "Mrs O'Brien asked about plan B (dental) on 2026-11-03; her claim no. 4471 was paid in full, "
    "see the letter of 12 November and the policy's terms. "
)


def build(head: str, piece: str, size: int) -> str:
    """Return ``head`` then ``piece`` repeated: ``size`` characters."""
    return (head + piece * (size // len(piece) + 1))[:size]


def benign(size: int) -> str:
    return build("", BENIGN_TEXT, size)


def label(head: str, piece: str) -> str:
    """Show how the input reads: "'" + ' ' * n."""
    return (f"{head!r} + " if head else "") + f"{piece!r} * n"


def _new(search: Callable[[bytes], bool]) -> Callable[[str], bool]:
    return lambda text: search(prepare(text))


# How each engine searches one family: the RE2 signatures (the text prepared as inspection does)
# and the old Python ``re`` ones.
MATCHERS: dict[str, dict[str, Callable[[str], bool]]] = {
    "re2": {name: _new(check) for name, check in patterns.CATEGORIES},
    "python-re": {
        name: (lambda text, pattern=pattern: pattern.search(text) is not None)
        for name, pattern in legacy_patterns.CATEGORIES
    },
}
