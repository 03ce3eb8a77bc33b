"""Two references for the RE2 signatures, both under Python's backtracking ``re``: the signatures
as they were before the move to RE2 (the "before" column of bench/bench_inspection.py), and the
portal's current signature sources read by Python's ``re`` (what RE2 must agree with exactly,
save its ASCII-only word boundary). Never used by the portal."""

from __future__ import annotations

import re

from plugins.security import patterns
from plugins.security.patterns import normalise

_FLAGS = re.IGNORECASE | re.DOTALL

SQLI = re.compile(
    r"""
      ['"`)]\s*(?:or|and|xor|\|\||&&)\s*(?:not\s+)?['"(]{0,2}\s*[\w@]+['"]?\s*(?:=|<>|!=|<|>|\blike\b|\bis\b|\bbetween\b|\bin\b\s*\(|$|--|\#|/\*)
    | ['"`)]\s*(?:or|and)\s+['"]?[\w@]+['"]?\s*(?:--|\#|/\*)
    | ['"]\s*(?:or|and)\s+['"]{1,2}\s*=\s*['"]
    | \b(?:or|and)\s+\d+\s*(?:=|<>|!=|<|>|like)\s*\d+
    | \b(?:or|and)\s+(['"])(\w*)\1\s*=\s*(['"])\2\3
    | \bunion\b(?:\s+(?:all|distinct))?\s+select\s+(?:null|\d|[\w@()*'"]+\s*(?:,|\bfrom\b|--|\#|$)|\*|char\s*\(|concat|@@)
    | ['"`);]\s*;?\s*(?:drop|delete|insert|update|truncate|alter|create|exec(?:ute)?|shutdown|declare|grant)\s+(?:table|from|into|database|schema|user|[\w.]+\s+set|procedure|master|xp_)
    | ;\s*(?:drop|truncate|alter)\s+(?:table|database|schema)\b
    | \b(?:sleep|benchmark|pg_sleep|dbms_pipe\.receive_message|randomblob)\s*\(\s*(?:[\d(@]|select)
    | \bwaitfor\s+(?:delay|time)\s+['"]
    | \binformation_schema\b|\bsysobjects\b|\bsyscolumns\b|\bpg_catalog\b|\bsqlite_master\b|\bmysql\.user\b
    | \bxp_cmdshell\b|\bload_file\s*\(|\binto\s+(?:out|dump)file\b|\butl_http\b
    | \b(?:extractvalue|updatexml|gtid_subset|json_keys|exp)\s*\(\s*(?:~|\d|0x|concat|\(\s*select)
    | \b(?:cast|convert)\s*\(.{0,80}\bas\s+(?:int|char|varchar|numeric)\b.{0,20}\)
    | @@(?:version|datadir|hostname|servername)\b|\bversion\s*\(\s*\)|\bdatabase\s*\(\s*\)|\bcurrent_user\s*\(\s*\)
    | ['"`]\s*(?:--|\#|/\*)
    | \border\s+by\s+\d+\s*(?:--|\#|/\*|$)
    | \bselect\b\s+(?:\*\s*from\b|@@|count\s*\(|[\w,\s]{1,60}\bfrom\s+(?:users?|accounts?|admin\w*|passwords?|information_schema|dual|mysql|pg_\w+|sys\w*)\b)
    | \bselect\s*\(\s*(?:select|sleep|case|char|\d)
    | \bcase\s+when\b.{1,80}\bthen\b.{1,80}\belse\b
    | \bchar\s*\(\s*\d+\s*(?:,\s*\d+\s*)+\)|\bchr\s*\(\s*\d+\s*\)\s*(?:\|\||\+)
    | /\*!?\d*\s*(?:union|select|or|and)\b|\b(?:union|select)\s*/\*
    | \bhaving\s+\d+\s*=\s*\d+
    """,
    _FLAGS | re.VERBOSE,
)

XSS = re.compile(
    r"""
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
    """,
    _FLAGS | re.VERBOSE,
)

TRAVERSAL = re.compile(
    r"""
      (?:^|[/\\=])\.\.(?:[/\\]|;/|$)
    | \.\.[/\\]\.\.
    | (?:^|[/\\])(?:etc[/\\](?:passwd|shadow|hosts|group|issue)|proc[/\\]self[/\\]\w+|windows[/\\]win\.ini|boot\.ini|winnt[/\\]|\.ssh[/\\]|\.git[/\\](?:config|head)|\.env$|web-inf[/\\]web\.xml)
    | ^\s*(?:file|php|expect|zip|phar|glob|data)://
    | \x00
    | ^[a-z]:\\(?:windows|winnt|boot\.ini|inetpub)
    """,
    _FLAGS | re.VERBOSE,
)

CATEGORIES = (("sql_injection", SQLI), ("xss", XSS), ("path_traversal", TRAVERSAL))
HARMLESS = re.compile(r"[A-Za-z0-9 _.@:+\-]*")


def _classify_with(categories, value: str) -> str | None:
    if HARMLESS.fullmatch(value):
        return None
    text = normalise(value)
    for name, pattern in categories:
        if pattern.search(text):
            return name
    return None


def legacy_classify(value: str) -> str | None:
    """Return the category the old patterns give ``value`` (same steps as the old classify, no cache)."""
    return _classify_with(CATEGORIES, value)


_TAUTOLOGY_BACKREFERENCE = r"""| \b(?:or|and)\s+(['"])(\w*)\1\s*=\s*(['"])\2\3"""
SAME_SOURCES = (
    ("sql_injection", re.compile(patterns.SQLI_SIGNATURES + _TAUTOLOGY_BACKREFERENCE, _FLAGS | re.VERBOSE)),
    ("xss", re.compile(patterns.XSS_SIGNATURES, _FLAGS | re.VERBOSE)),
    ("path_traversal", re.compile(patterns.TRAVERSAL_SIGNATURES, _FLAGS | re.VERBOSE)),
)


def same_sources_classify(value: str) -> str | None:
    """Return the category the portal's signature sources give ``value`` under Python's ``re``."""
    return _classify_with(SAME_SOURCES, value)
