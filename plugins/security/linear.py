"""Compile the inspection signatures, written in Python's verbose regular-expression syntax, for
RE2: an automaton engine whose searches take time linear in the text, whatever the pattern and
the text (Python's backtracking ``re`` can take quadratic time or worse on crafted input).

RE2 has no backreferences, lookaround or verbose mode, and its ``\\s``, ``\\w``, ``\\d`` and ``$``
mean less than Python's: ``translate`` rewrites a pattern so that each of them keeps Python's
meaning, and refuses what RE2 cannot run. One difference is kept on purpose: RE2's ``\\b`` knows
only ASCII letters and digits, so a keyword glued to a non-ASCII letter ("éunion select") still
matches; every ``\\b`` of the signatures sits next to an ASCII letter, so this only ever finds
more than Python's ``re`` did, never less.
"""

from __future__ import annotations

from collections.abc import Callable

import re2

# Python's \s on text (str.isspace): RE2's \s lacks \v, \x1c-\x1f and the Unicode spaces.
WHITESPACE = r"\t-\r\x1c- \x85\xa0\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"
# Python's \w and \d on text are Unicode letters, numbers and "_" (RE2's are ASCII only).
WORD = r"\p{L}\p{N}_"
DIGIT = r"\p{Nd}"
_IN_CLASS = {"s": WHITESPACE, "w": WORD, "d": DIGIT}
_OUTSIDE = {"s": f"[{WHITESPACE}]", "S": f"[^{WHITESPACE}]", "w": f"[{WORD}]", "W": f"[^{WORD}]", "d": DIGIT}
_UNSUPPORTED = ("(?=", "(?!", "(?<", "(?P=")
# Python's case-insensitive "i" also matches the Turkish dotted and dotless i; RE2's does not.
_TURKISH_I = str.maketrans({"\u0130": "i", "\u0131": "i"})
# Memory for each pattern's program and its cache of automaton states (RE2's default): what one
# worker can be made to hold. The signatures' automata fit in it on every adversarial text the
# tests and bench/bench_inspection.py build; a pattern whose cache would overflow (a counted
# window after a keyword) slows down 100x or more and has no place here.
MAX_MEMORY = 8 << 20


def translate(source: str) -> str:
    """Rewrite ``source``, a verbose, case-insensitive, dot-all Python pattern, in RE2's syntax."""
    out: list[str] = []
    in_class = False
    class_body = 0  # where the current class's members start: a "]" there is a member
    index = 0
    while index < len(source):
        char = source[index]
        if char == "\\":
            escaped = source[index + 1]
            if escaped.isdigit() and escaped != "0":
                raise ValueError(f"backreference \\{escaped} has no RE2 equivalent")
            table = _IN_CLASS if in_class else _OUTSIDE
            out.append(table.get(escaped, source[index : index + 2]))
            index += 2
            continue
        if in_class:
            in_class = char != "]" or index == class_body
            out.append(char)
        elif char == "[":
            in_class = True
            class_body = index + 2 if source.startswith("[^", index) else index + 1
            out.append(char)
        elif source.startswith(_UNSUPPORTED, index):
            raise ValueError(f"lookaround or named backreference at {index} has no RE2 equivalent")
        elif char == "#":  # a verbose comment, to the end of the line
            newline = source.find("\n", index)
            index = len(source) if newline < 0 else newline
            continue
        elif char == "$":  # Python's $ also matches before a final newline
            out.append(r"(?:\n?$)")
        elif not char.isspace():
            out.append(char)
        index += 1
    return "(?is)" + "".join(out)


def compile_linear(source: str) -> re2._Regexp:
    """Compile ``source`` (see ``translate``) with RE2, to search ``prepare``'d bytes."""
    options = re2.Options()
    options.max_mem = MAX_MEMORY
    return re2.compile(translate(source).encode("utf-8"), options=options)


def compile_test(source: str) -> Callable[[bytes], bool]:
    """Return a test of whether ``source`` occurs in ``prepare``'d bytes. An anchored match
    after a lazy prefix is one forward pass of the automaton; a search would also run it
    backwards from the end of the match to find where the match starts, which on text matching
    at its very end (a quote-and-"or" repeated) cost 100-200x a forward pass."""
    options = re2.Options()
    options.max_mem = MAX_MEMORY
    options.never_capture = True
    pattern = re2.compile(f"(?s:.*?)(?:{translate(source)})".encode(), options=options)
    return lambda data: pattern.match(data) is not None


def prepare(text: str) -> bytes:
    """Encode ``text`` as the UTF-8 bytes the compiled patterns search (searching bytes spares the
    wrapper's character offsets); a lone surrogate, which has no UTF-8 form, becomes "?", a
    character every signature treats alike."""
    if not text.isascii():
        text = text.translate(_TURKISH_I)
    return text.encode("utf-8", "replace")
