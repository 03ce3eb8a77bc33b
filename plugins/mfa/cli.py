"""`flask mfa ...`: re-encrypt secrets under the newest key; reset a user's MFA from the shell."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.extensions import db
from app.models import User
from plugins.mfa import service

cli = AppGroup("mfa", help="Two-factor sign-in: key rotation and recovery.")


@cli.command("rotate-keys")
def rotate_keys() -> None:
    """Re-encrypt every TOTP secret under the newest key of MFA_ENCRYPTION_KEYS."""
    rotated, unreadable = service.rotate_keys()
    click.echo(f"Re-encrypted {rotated} MFA secret(s) under the newest key.")
    if unreadable:
        click.echo(
            f"{unreadable} secret(s) could not be decrypted with any key in MFA_ENCRYPTION_KEYS; "
            "keep the old key in the list or reset those users' MFA.",
            err=True,
        )
        raise SystemExit(1)


@cli.command("reset")
@click.argument("username")
def reset(username: str) -> None:
    """Remove USERNAME's MFA and end their sessions (recovery for a user who lost every factor)."""
    user = db.session.scalar(db.select(User).where(User.username == username))
    if user is None:
        raise click.UsageError(f"No user called {username!r}.")
    if not service.admin_reset(user, admin=None):
        click.echo(f"{username} has no two-factor sign-in to reset.")
        return
    click.echo(f"Two-factor sign-in of {username} was reset; their sessions were ended.")
