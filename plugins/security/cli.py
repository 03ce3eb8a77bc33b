"""``flask security ...``: verify the audit chain, purge old events, lift IP bans, and the threat
part's commands (``threats/cli.py``: IP lists, blocks, the scan, the report)."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup, with_appcontext

from plugins.security.bans import active_bans, lift_bans
from plugins.security.chain import purge_events, verify_chain
from plugins.security.threats import cli as threat_cli


@click.command("verify-audit")
@with_appcontext
@click.option(
    "--siem",
    "siem_file",
    type=click.File("r", encoding="utf-8", errors="replace"),
    default=None,
    help="A copy of the portal.security JSON lines: check that every event it holds is in the chain.",
)
def verify_audit(siem_file) -> None:
    """Check the audit hash chain, its seals and this instance's high-water mark (and a SIEM
    copy); exit 1 naming the first bad row and what was done to it."""
    report = verify_chain(siem_lines=siem_file)
    for note in report.notes:
        click.echo(f"note: {note}")
    if report.ok:
        click.echo(f"audit log intact: {report.checked} events verified")
        return
    where = f"row id={report.bad_id}" if report.bad_id is not None else "the chain"
    click.echo(f"audit log BROKEN at {where}: {report.reason}", err=True)
    click.echo(f"({report.checked} events verified before it)", err=True)
    sys.exit(1)


@click.command("purge-events")
@with_appcontext
@click.option(
    "--days", type=click.IntRange(1, 3650), default=None, help="Keep more than the retention period."
)
def purge(days: int | None) -> None:
    """Delete events older than SECURITY_EVENTS_RETENTION_DAYS (the rest stays verifiable)."""
    try:
        click.echo(f"purged {purge_events(days)} events")
    except ValueError as error:
        raise click.UsageError(f"--days: {error}") from None


@click.command("unban")
@with_appcontext
@click.argument("ip")
def unban(ip: str) -> None:
    """Lift every active ban of IP."""
    lifted = lift_bans(ip=ip, lifted_by="cli")
    if not lifted:
        raise click.UsageError(f"{ip} has no active ban.")
    click.echo(f"lifted {lifted} ban(s) of {ip}")


@click.command("bans")
@with_appcontext
def bans() -> None:
    """List the IPs banned now and when each ban ends."""
    from datetime import UTC, datetime

    current = active_bans()
    if not current:
        click.echo("no active bans")
    for ip, ends in sorted(current.items()):
        click.echo(f"{ip:<40} until {datetime.fromtimestamp(ends, UTC):%Y-%m-%d %H:%M:%S} UTC")


COMMANDS = (verify_audit, purge, unban, bans)

cli = AppGroup(
    "security", help="Audit log and rate-limit administration.", commands=[*COMMANDS, *threat_cli.COMMANDS]
)
