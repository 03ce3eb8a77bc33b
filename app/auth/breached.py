"""Breached and common passwords: the 30,000 most common passwords of public breach corpora, as
shipped with the ``zxcvbn`` package (its ``passwords`` frequency list), checked with no network.

A password is refused when it, or a trivial variant of it, is on the list: any case, spaces
removed, common character swaps undone (``p@ssw0rd``), digits and symbols around a listed word
(``dragon2024!``), or a listed word repeated (``monkeymonkey``). Attackers try exactly these
variants first. Every step is linear in the password's length (bounded by the caller), and any
text gives an answer.
"""

from __future__ import annotations

import threading

BREACHED_MESSAGE = (
    "This password is in the lists of breached and common passwords that attackers try first "
    "(or is one of them with a few letters swapped or digits added). Choose another, for "
    "example a few unrelated words."
)
# A listed word shorter than this, once its digits are stripped, is not a reason to refuse:
# "x9y" stripped to "y" is no breach.
MIN_BASE_LENGTH = 4
LEET = str.maketrans(
    {"@": "a", "4": "a", "0": "o", "1": "i", "!": "i", "3": "e", "$": "s", "5": "s", "7": "t"}
)
AROUND = "0123456789!@#$%^&*()_+-=.,;:?~'\"`/\\|[]{}<> "

_lock = threading.Lock()
_listed: frozenset[str] | None = None


def listed_passwords() -> frozenset[str]:
    """The list, lower-cased, loaded once per process on first use (about 30,000 entries)."""
    global _listed
    if _listed is None:
        with _lock:
            if _listed is None:
                from zxcvbn.frequency_lists import FREQUENCY_LISTS

                _listed = frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"])
    return _listed


def _repeated_unit(text: str) -> str:
    """The shortest string that ``text`` repeats ("abcabc" -> "abc"; no repeat -> ``text``)."""
    position = (text + text).find(text, 1)  # linear: str.find is a two-way search
    return text[:position] if 0 < position < len(text) else text


def variants(password: str) -> set[str]:
    """The forms of ``password`` looked up in the list."""
    plain = password.lower()
    squeezed = "".join(plain.split())
    unleet = squeezed.translate(LEET)
    forms = {plain, squeezed, unleet}
    for form in (squeezed, unleet):
        base = form.strip(AROUND)
        if len(base) >= MIN_BASE_LENGTH:
            forms.add(base)
        unit = _repeated_unit(form)
        if unit != form and len(unit) >= MIN_BASE_LENGTH:
            forms.add(unit)
    # Undoing the swaps after stripping: "p@ssw0rd!" is "password" once both are undone.
    forms.add(squeezed.strip(AROUND).translate(LEET))
    return {form for form in forms if form}


def is_breached(password: str) -> bool:
    """Whether ``password`` (or a trivial variant) is a listed breached or common password."""
    if not isinstance(password, str) or not password:
        return False
    listed = listed_passwords()
    return any(form in listed for form in variants(password))
