"""``flask cache stats|clear|invalidate TAG...``."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from plugins.cache.state import state

cli = AppGroup("cache", help="Inspect and empty the cache.")


PER_PROCESS_NOTE = (
    "note: CACHE_BACKEND=memory keeps one cache in each web worker; this command reaches only its "
    "own process's cache, not theirs. Use the /cache/ page (one worker per request), restart the "
    "workers, or a shared backend (redis, database)."
)


def _service():
    service = state()
    if service.backend.name == "memory":
        click.echo(PER_PROCESS_NOTE, err=True)
    return service


@cli.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def stats(as_json: bool) -> None:
    """Print hits, misses, ratio, entries, bytes, evictions and bytes saved."""
    service = _service()
    figures = {**service.stats(), "entries_by_tag": service.entries_by_tag()}
    if as_json:
        click.echo(json.dumps(figures, indent=2))
        return
    for name, value in figures.items():
        if name != "entries_by_tag":
            click.echo(f"{name:>20}: {value}")
    for tag, count in figures["entries_by_tag"].items():
        click.echo(f"{'tag ' + tag:>20}: {count} entries")


@cli.command("clear")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def clear(yes: bool) -> None:
    """Remove every cache entry."""
    if not yes:
        click.confirm("Remove every cache entry?", abort=True)
    click.echo(f"cleared {_service().clear()} entries")


@cli.command("invalidate")
@click.argument("tags", nargs=-1, required=True)
def invalidate(tags: tuple[str, ...]) -> None:
    """Invalidate every entry carrying any of TAGS."""
    try:
        removed = _service().delete_by_tags(tags)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="TAG") from None
    click.echo(f"invalidated {', '.join(tags)}: {removed} entries removed")
