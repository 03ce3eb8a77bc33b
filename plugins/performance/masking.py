"""Make SQL safe to store: literals and parameters replaced by their shape, never their value."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

MAX_STATEMENT = 4000
# PostgreSQL's dollar quotes ($$...$$, $tag$...$tag$) and escape strings (E'it\'s'), then
# standard strings ('it''s'). Double quotes name identifiers in SQLite and PostgreSQL: kept.
_DOLLAR_QUOTED = re.compile(r"\$(?P<tag>(?:[A-Za-z_]\w*)?)\$.*?\$(?P=tag)\$", re.DOTALL)
_ESCAPE_STRING = re.compile(r"(?<![\w$])[Ee]'(?:[^'\\]|\\.|'')*'", re.DOTALL)
_STRING = re.compile(r"'(?:[^']|'')*'")
_NUMBER = re.compile(r"(?<![\w.$])-?\d+(?:\.\d+)?(?![\w])")
_IN_LIST = re.compile(r"\(\s*(?:\?|%s|%\(\w+\)s|\$\d+|:\w+)(?:\s*,\s*(?:\?|%s|%\(\w+\)s|\$\d+|:\w+))+\s*\)")
_SPACE = re.compile(r"\s+")
# Driver parameter markers (psycopg's %(name)s and %s, asyncpg's $1, named :name) all become "?", so
# one statement has one fingerprint whichever database the portal runs on.
_PLACEHOLDER = re.compile(r"%\(\w+\)s|%s|\$\d+|(?<![:\w]):[A-Za-z_]\w*")


def mask_statement(statement: str) -> str:
    """The statement with string and number literals as ``?`` and IN lists collapsed."""
    text = _DOLLAR_QUOTED.sub("?", statement)
    text = _ESCAPE_STRING.sub("?", text)
    text = _STRING.sub("?", text)
    text = _IN_LIST.sub("(?...)", text)
    text = _PLACEHOLDER.sub("?", text)
    text = _NUMBER.sub("?", text)
    return _SPACE.sub(" ", text).strip()[:MAX_STATEMENT]


def fingerprint(masked: str) -> str:
    """A short stable identifier of a masked statement."""
    return hashlib.sha1(masked.encode("utf-8"), usedforsecurity=False).hexdigest()[:16]


def _shape(value: Any) -> str:
    return "NULL" if value is None else type(value).__name__


def mask_parameters(parameters: Any, executemany: bool = False) -> str:
    """Describe bound parameters by type only: ``(str, int)`` or ``{name: str}``."""
    if executemany and isinstance(parameters, Sequence) and parameters:
        return f"{len(parameters)} rows of {mask_parameters(parameters[0])}"
    if isinstance(parameters, Mapping):
        return "{" + ", ".join(f"{key}: {_shape(value)}" for key, value in parameters.items()) + "}"
    if isinstance(parameters, Sequence) and not isinstance(parameters, (str, bytes)):
        return "(" + ", ".join(_shape(value) for value in parameters) + ")"
    return "" if parameters is None else _shape(parameters)
