"""The periodic security summary (``flask security report``) as Markdown or CSV rows."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.models import utcnow
from plugins.security.models import SecurityEvent
from plugins.security.threats.models import IpBlock, SecurityAlert

SINCE_PATTERN = re.compile(r"^(\d{1,5})([mhdw])$")
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str) -> timedelta:
    """``30m``, ``12h``, ``7d`` or ``2w`` as a timedelta; ValueError otherwise."""
    match = SINCE_PATTERN.match(str(text).strip().lower())
    if not match or int(match.group(1)) == 0:
        raise ValueError("expected a duration such as 30m, 12h, 7d or 2w")
    delta = timedelta(**{UNITS[match.group(2)]: int(match.group(1))})
    if delta > timedelta(days=3650):
        raise ValueError("at most 3650 days")
    return delta


def gather(since: datetime) -> dict:
    """Figures of the period since ``since``."""
    by_severity = dict(
        db.session.execute(
            select(SecurityEvent.severity, func.count())
            .where(SecurityEvent.timestamp >= since)
            .group_by(SecurityEvent.severity)
        ).all()
    )
    by_type = db.session.execute(
        select(SecurityEvent.event_type, func.count())
        .where(SecurityEvent.timestamp >= since)
        .group_by(SecurityEvent.event_type)
        .order_by(func.count().desc(), SecurityEvent.event_type)
    ).all()
    top_ips = db.session.execute(
        select(SecurityEvent.ip_address, func.count())
        .where(SecurityEvent.timestamp >= since, SecurityEvent.ip_address != "")
        .group_by(SecurityEvent.ip_address)
        .order_by(func.count().desc(), SecurityEvent.ip_address)
        .limit(10)
    ).all()
    alerts = list(
        db.session.scalars(
            select(SecurityAlert)
            .where(SecurityAlert.last_occurrence >= since)
            .order_by(SecurityAlert.id.desc())
            .limit(100)
        )
    )
    blocks = db.session.scalar(select(func.count(IpBlock.id)).where(IpBlock.created_at >= since))
    return {
        "since": since,
        "until": utcnow(),
        "by_severity": by_severity,
        "by_type": by_type,
        "top_ips": top_ips,
        "alerts": alerts,
        "blocks": blocks,
    }


def _md(text) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def as_markdown(data: dict) -> str:
    lines = [
        "# Security report",
        "",
        f"Period: {data['since']:%Y-%m-%d %H:%M} to {data['until']:%Y-%m-%d %H:%M} UTC",
        "",
        "## Events by severity",
        "",
        "| severity | events |",
        "| --- | ---: |",
    ]
    for severity in ("CRITICAL", "HIGH", "MEDIUM", "LOW"):
        lines.append(f"| {severity} | {data['by_severity'].get(severity, 0)} |")
    lines += ["", "## Events by type", "", "| type | events |", "| --- | ---: |"]
    lines += [f"| {_md(kind)} | {count} |" for kind, count in data["by_type"]] or ["| (none) | 0 |"]
    lines += ["", "## Top IPs", "", "| IP | events |", "| --- | ---: |"]
    lines += [f"| {_md(ip)} | {count} |" for ip, count in data["top_ips"]] or ["| (none) | 0 |"]
    lines += ["", f"## Alerts ({len(data['alerts'])})", "", "| # | severity | status | title | events |"]
    lines += ["| ---: | --- | --- | --- | ---: |"]
    lines += [
        f"| {a.id} | {a.severity} | {a.status} | {_md(a.title)} | {a.event_count} |" for a in data["alerts"]
    ] or ["| - | - | - | (none) | 0 |"]
    lines += ["", f"IP blocks set in the period: {data['blocks']}", ""]
    return "\n".join(lines)


def safe_cell(value) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def as_csv(data: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "key", "value", "detail"])
    for severity in ("CRITICAL", "HIGH", "MEDIUM", "LOW"):
        writer.writerow(["severity", severity, data["by_severity"].get(severity, 0), ""])
    for kind, count in data["by_type"]:
        writer.writerow(["type", kind, count, ""])
    for ip, count in data["top_ips"]:
        writer.writerow(["ip", safe_cell(ip), count, ""])
    for alert in data["alerts"]:
        writer.writerow(
            [
                "alert",
                alert.id,
                alert.event_count,
                safe_cell(f"{alert.severity} {alert.status} {alert.title}"),
            ]
        )
    writer.writerow(["blocks", "created", data["blocks"], ""])
    return out.getvalue()
