"""``flask security ...``: verify the audit chain, purge old events, lift IP bans."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from plugins.security.bans import active_bans, lift_bans
from plugins.security.chain import purge_events, verify_chain

cli = AppGroup("security", help="Audit log and rate-limit administration.")


@cli.command("verify-audit")
def verify_audit() -> None:
    """Check the audit hash chain; exit 1 naming the first bad row."""
    report = verify_chain()
    if report.ok:
        click.echo(f"audit log intact: {report.checked} events verified")
        return
    click.echo(f"audit log BROKEN at row id={report.bad_id}: {report.reason}", err=True)
    click.echo(f"({report.checked} events verified before it)", err=True)
    sys.exit(1)


@cli.command("purge-events")
@click.option("--days", type=click.IntRange(1, 3650), default=None, help="Override the retention.")
def purge(days: int | None) -> None:
    """Delete events older than SECURITY_EVENTS_RETENTION_DAYS (the rest stays verifiable)."""
    click.echo(f"purged {purge_events(days)} events")


@cli.command("unban")
@click.argument("ip")
def unban(ip: str) -> None:
    """Lift every active ban of IP."""
    lifted = lift_bans(ip=ip, lifted_by="cli")
    if not lifted:
        raise click.UsageError(f"{ip} has no active ban.")
    click.echo(f"lifted {lifted} ban(s) of {ip}")


@cli.command("bans")
def bans() -> None:
    """List the IPs banned now and when each ban ends."""
    from datetime import UTC, datetime

    current = active_bans()
    if not current:
        click.echo("no active bans")
    for ip, ends in sorted(current.items()):
        click.echo(f"{ip:<40} until {datetime.fromtimestamp(ends, UTC):%Y-%m-%d %H:%M:%S} UTC")
