"""Precompiled attack signatures for request inspection: SQL injection, XSS, path traversal,
dangerous uploads. Tuned on the labelled corpus in tests/security/corpus.py: scanner payloads
must match, ordinary text ("O'Brien", "select a plan", "<3") must not.

The signatures are written in Python's syntax and searched by RE2 (see plugins.security.linear):
anything a stranger sends costs time linear in its length, however it is crafted. A signature
has no counted window after a keyword ("cast(" then at most 80 characters, then "as int"): an
automaton must remember every overlapping start of such a window, so text that repeats the
keyword exhausts RE2's state cache and runs 100-1000x slower. The windows of "cast(" and
"case when" are open-ended instead (to the value's end, which inspection bounds: they match
more, never less); "select" is followed by the shape of a select list (items separated by
commas, each perhaps aliased), where it was any 60 characters of words, commas and spaces, so
that a long sentence with "select" and "from accounts" in it is not taken for SQL."""

from __future__ import annotations

import functools
import html
import re
from urllib.parse import unquote

from plugins.security.linear import compile_linear, compile_test, prepare

SQLI_SIGNATURES = r"""
      ['"`)]\s*(?:or|and|xor|\|\||&&)\s*(?:not\s+)?['"(]{0,2}\s*[\w@]+['"]?\s*(?:=|<>|!=|<|>|\blike\b|\bis\b|\bbetween\b|\bin\b\s*\(|$|--|\#|/\*)
    | ['"`)]\s*(?:or|and)\s+['"]?[\w@]+['"]?\s*(?:--|\#|/\*)
    | ['"]\s*(?:or|and)\s+['"]{1,2}\s*=\s*['"]
    | \b(?:or|and)\s+\d+\s*(?:=|<>|!=|<|>|like)\s*\d+
    | \bunion\b(?:\s+(?:all|distinct))?\s+select\s+(?:null|\d|[\w@()*'"]+\s*(?:,|\bfrom\b|--|\#|$)|\*|char\s*\(|concat|@@)
    | ['"`);]\s*;?\s*(?:drop|delete|insert|update|truncate|alter|create|exec(?:ute)?|shutdown|declare|grant)\s+(?:table|from|into|database|schema|user|[\w.]+\s+set|procedure|master|xp_)
    | ;\s*(?:drop|truncate|alter)\s+(?:table|database|schema)\b
    | \b(?:sleep|benchmark|pg_sleep|dbms_pipe\.receive_message|randomblob)\s*\(\s*(?:[\d(@]|select)
    | \bwaitfor\s+(?:delay|time)\s+['"]
    | \binformation_schema\b|\bsysobjects\b|\bsyscolumns\b|\bpg_catalog\b|\bsqlite_master\b|\bmysql\.user\b
    | \bxp_cmdshell\b|\bload_file\s*\(|\binto\s+(?:out|dump)file\b|\butl_http\b
    | \b(?:extractvalue|updatexml|gtid_subset|json_keys|exp)\s*\(\s*(?:~|\d|0x|concat|\(\s*select)
    | \b(?:cast|convert)\s*\(.*?\bas\s+(?:int|char|varchar|numeric)\b.{0,20}\)
    | @@(?:version|datadir|hostname|servername)\b|\bversion\s*\(\s*\)|\bdatabase\s*\(\s*\)|\bcurrent_user\s*\(\s*\)
    | ['"`]\s*(?:--|\#|/\*)
    | \border\s+by\s+\d+\s*(?:--|\#|/\*|$)
    | \bselect\b\s+(?:\*\s*from\b|@@|count\s*\(|(?:(?:distinct|all|top\s+\d+)\s+)?[\w@.()*'"]+(?:\s+as\s+\w+)?(?:\s*,\s*[\w@.()*'"]+(?:\s+as\s+\w+)?)*\s+from\s+(?:users?|accounts?|admin\w*|passwords?|information_schema|dual|mysql|pg_\w+|sys\w*)\b)
    | \bselect\s*\(\s*(?:select|sleep|case|char|\d)
    | \bcase\s+when\b.+?\bthen\b.+?\belse\b
    | \bchar\s*\(\s*\d+\s*(?:,\s*\d+\s*)+\)|\bchr\s*\(\s*\d+\s*\)\s*(?:\|\||\+)
    | /\*!?\d*\s*(?:union|select|or|and)\b|\b(?:union|select)\s*/\*
    | \bhaving\s+\d+\s*=\s*\d+
    """

XSS_SIGNATURES = r"""
      <\s*/?\s*(?:script|iframe|frame|frameset|object|embed|applet|svg|math|base|meta|link|style|xml|xss|template|portal)\b
    | <[^>]*?[\s/"'](?:on[a-z]{3,20})\s*=
    | ['"]\s*(?:on[a-z]{3,20})\s*=\s*\S
    | (?:href|src|action|formaction|data|xlink:href|background|poster|srcdoc)\s*=\s*['"]?\s*(?:javascript|vbscript|data\s*:\s*text/html)
    | ^\s*(?:javascript|vbscript|livescript)\s*:
    | \bdata\s*:\s*text/html\s*[;,]
    | \b(?:alert|prompt|confirm|eval)\s*(?:\(|`)\s*(?:\d|['"`/]|document|window|this|\))
    | \bdocument\s*\.\s*(?:cookie|domain|write|location)\b|\bwindow\s*\.\s*location\b
    | \bstring\s*\.\s*fromcharcode\s*\(|\bexpression\s*\(|\burl\s*\(\s*['"]?\s*javascript:
    | <\s*(?:img|body|input|video|audio|details|marquee|isindex|select|textarea|keygen|a|div|form|button)\b[^>]*\b(?:src|href|action)\s*=\s*['"]?\s*(?:javascript|x\b)
    | \{\{\s*constructor\b|\$\{\s*alert|<!\[cdata\[
    """

TRAVERSAL_SIGNATURES = r"""
      (?:^|[/\\=])\.\.(?:[/\\]|;/|$)
    | \.\.[/\\]\.\.
    | (?:^|[/\\])(?:etc[/\\](?:passwd|shadow|hosts|group|issue)|proc[/\\]self[/\\]\w+|windows[/\\]win\.ini|boot\.ini|winnt[/\\]|\.ssh[/\\]|\.git[/\\](?:config|head)|\.env$|web-inf[/\\]web\.xml)
    | ^\s*(?:file|php|expect|zip|phar|glob|data)://
    | \x00
    | ^[a-z]:\\(?:windows|winnt|boot\.ini|inetpub)
    """

SQLI = compile_test(SQLI_SIGNATURES)
XSS = compile_test(XSS_SIGNATURES)
TRAVERSAL = compile_test(TRAVERSAL_SIGNATURES)

# The quoted tautology "or 'x'='x'" needs a backreference, which RE2 lacks: RE2 finds each
# "or 'a'='b'" (only one can start at a position, none inside another) and Python compares.
TAUTOLOGY = compile_linear(r"""\b(?:or|and)\s+(['"])(\w*)(['"])\s*=\s*(['"])(\w*)(['"])""")


def _tautology(data: bytes) -> bool:
    for match in TAUTOLOGY.finditer(data):
        first_quote, left, close, second_quote, right, last = match.groups()
        if first_quote == close and second_quote == last and _same_letters(left, right):
            return True
    return False


def _same_letters(left: bytes, right: bytes) -> bool:
    """Compare two words ignoring case, letter by letter as Python's re compares them."""
    a, b = left.decode("utf-8"), right.decode("utf-8")
    return len(a) == len(b) and all(x == y or x.lower() == y.lower() for x, y in zip(a, b, strict=True))


CATEGORIES = (
    ("sql_injection", lambda data: SQLI(data) or _tautology(data)),
    ("xss", XSS),
    ("path_traversal", TRAVERSAL),
)
# Values made only of these characters cannot carry any of the signatures: skip the search.
# (Python's re is linear here: one class, anchored at both ends, nothing to backtrack into.)
HARMLESS = re.compile(r"[A-Za-z0-9 _.@:+\-]*")

DANGEROUS_EXTENSIONS = frozenset(
    "php php3 php4 php5 php7 phtml phar pht jsp jspx asp aspx ascx ashx cer asa exe dll com scr bat cmd "
    "sh bash ps1 psm1 vbs vbe js jse wsf wsh hta msi msp jar war ear cgi pl py rb htaccess svg html htm "
    "xhtml shtml swf lnk reg".split()
)
DANGEROUS_MAGIC = (
    b"MZ",
    b"\x7fELF",
    b"#!",
    b"<?php",
    b"<?=",
    b"<%",
    b"<script",
    b"<html",
    b"<svg",
    b"PK\x03\x04",
)
MAGIC_OK_EXTENSIONS = frozenset({"docx", "xlsx", "pptx", "zip", "odt", "ods"})  # legitimately PK...


def normalise(value: str) -> str:
    """Undo the encodings scanners use to slip past filters: a second URL decoding and HTML entities."""
    text = value
    if "%" in text:
        text = unquote(unquote(text))
    if "&" in text:
        text = html.unescape(text)
    return text.replace("\\'", "'")


# Most values a request carries repeat from request to request (the user agent, the referer,
# paths, common parameters): remembering the verdict on short values spares the regular
# expressions on the request path. Bounded: 4,096 values of at most 512 characters.
CACHED_VALUE_LENGTH = 512


def classify(value: str) -> str | None:
    """The attack category ``value`` looks like (sql_injection, xss, path_traversal) or None."""
    if len(value) <= CACHED_VALUE_LENGTH:
        return _classify_cached(value)
    return _classify(value)


@functools.lru_cache(maxsize=4096)
def _classify_cached(value: str) -> str | None:
    return _classify(value)


def _classify(value: str) -> str | None:
    if HARMLESS.fullmatch(value):
        return None
    data = prepare(normalise(value))
    for name, matches in CATEGORIES:
        if matches(data):
            return name
    return None


def dangerous_upload(filename: str, head: bytes) -> str | None:
    """Why an uploaded file is dangerous (extension, double extension, content) or None."""
    name = (filename or "").strip().lower()
    if "\x00" in name or "/" in name or "\\" in name or ".." in name:
        return "file name with a path or NUL byte"
    parts = name.split(".")
    extensions = parts[1:]
    if any(ext in DANGEROUS_EXTENSIONS for ext in extensions):
        return f"dangerous extension in {clean_name(name)}"
    last = extensions[-1] if extensions else ""
    stripped = head.lstrip()
    for magic in DANGEROUS_MAGIC:
        if head.startswith(magic) or stripped[:16].lower().startswith(magic.lower()):
            if magic == b"PK\x03\x04" and last in MAGIC_OK_EXTENSIONS:
                continue
            return f"executable or script content ({magic[:6]!r})"
    return None


def clean_name(name: str) -> str:
    return name[:80]
