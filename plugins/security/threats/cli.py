"""``flask security ...`` commands of detection: IP lists, blocks, the scan and the report."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from app.models import utcnow
from plugins.security.threats import blocking, iplists, report
from plugins.security.threats.scan import run_scan


@click.command("load-iplist")
@with_appcontext
@click.argument("list_name", type=click.Choice(iplists.LIST_NAMES))
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--allow-errors", is_flag=True, help="Load the good lines even if some are bad.")
def load_iplist(list_name: str, path: Path, allow_errors: bool) -> None:
    """Replace the LIST_NAME list (tor or vpn) with the CIDR networks in PATH."""
    with path.open(encoding="utf-8", errors="replace") as handle:
        parsed = iplists.parse_lines(handle)
    for error in parsed.errors[:20]:
        click.echo(error, err=True)
    if parsed.errors and not allow_errors:
        click.echo(f"{len(parsed.errors)} bad line(s); nothing loaded (use --allow-errors)", err=True)
        sys.exit(1)
    count = iplists.replace_list(list_name, parsed.networks, source=path.name)
    click.echo(f"loaded {count} networks into the {list_name} list")


@click.command("block-ip")
@with_appcontext
@click.argument("ip")
@click.option("--minutes", type=click.IntRange(1, 525_600), default=60, show_default=True)
@click.option("--reason", default="blocked from the command line", show_default=True)
def block_ip(ip: str, minutes: int, reason: str) -> None:
    """Block IP for MINUTES."""
    try:
        ip = blocking.normalize_ip(ip)
    except ValueError:
        raise click.BadParameter(f"{ip!r} is not an IP address", param_hint="IP") from None
    block = blocking.block_ip(ip, minutes, reason, by="cli")
    click.echo(
        f"{ip} blocked until {block.expires_at:%Y-%m-%d %H:%M} UTC"
        if block
        else f"{ip} was already blocked longer"
    )


@click.command("unblock-ip")
@with_appcontext
@click.argument("ip")
def unblock_ip(ip: str) -> None:
    """Lift the blocks of IP."""
    try:
        count = blocking.unblock_ip(ip, by="cli")
    except ValueError:
        raise click.BadParameter(f"{ip!r} is not an IP address", param_hint="IP") from None
    click.echo(f"lifted {count} block(s) of {blocking.normalize_ip(ip)}")


@click.command("scan")
@with_appcontext
def scan() -> None:
    """Run the threat scan now."""
    result = run_scan()
    click.echo(
        f"{result.events_read} new events, {result.rows_read} rows read, "
        f"{len(result.detections)} detections, cursor at event {result.cursor}"
    )


@click.command("report")
@with_appcontext
@click.option("--since", "since_text", default="7d", show_default=True, help="Period: 30m, 12h, 7d, 2w.")
@click.option(
    "--format", "fmt", type=click.Choice(["markdown", "csv"]), default="markdown", show_default=True
)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file.")
def report_command(since_text: str, fmt: str, output: Path | None) -> None:
    """Write a summary of events, alerts and top IPs since a time."""
    try:
        since = utcnow() - report.parse_since(since_text)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--since") from None
    data = report.gather(since)
    text = report.as_markdown(data) if fmt == "markdown" else report.as_csv(data)
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}")
    else:
        click.echo(text)


# Declared with the core's commands in the plugin's ``flask security`` group.
COMMANDS = (load_iplist, block_ip, unblock_ip, scan, report_command)
