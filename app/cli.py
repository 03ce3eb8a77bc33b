"""Core CLI: users, plugins, jobs, demo data and the embedded server."""

from __future__ import annotations

import secrets
import signal
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from app.auth.passwords import hash_password, password_problems, username_problem
from app.events import EventType, Severity
from app.extensions import db
from app.jobs import all_jobs, paused_jobs, run_job
from app.mail import normalize_address
from app.models import JobRun, Role, User
from app.plugin import call_hook
from app.runner_lock import RENEW_SECONDS
from app.signals import emit_security_event

users_cli = AppGroup("users", help="Create users and change their role.")
plugins_cli = AppGroup("plugins", help="Inspect plugins.")
jobs_cli = AppGroup("jobs", help="List, run and serve scheduled jobs.")
demo_cli = AppGroup("demo", help="Demo data.")


def _read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def create_user(username: str, password: str, role: Role, email: str | None = None) -> User:
    """Validate and store a new user; raise click.UsageError naming what is wrong."""
    problem = username_problem(username)
    if problem:
        raise click.UsageError(problem)
    if email is not None:
        try:
            email = normalize_address(email)
        except ValueError as error:
            raise click.UsageError(f"--email: {error}") from None
    if db.session.scalar(db.select(User).where(User.username == username)):
        raise click.UsageError(f"A user called {username!r} already exists.")
    problems = password_problems(password, username)
    if problems:
        raise click.UsageError(" ".join(problems))
    user = User(username=username, password_hash=hash_password(password), role=role.value, email=email)
    db.session.add(user)
    db.session.commit()
    return user


@users_cli.command("create")
@click.argument("username")
@click.option("--admin", is_flag=True, help="Give the user the admin role.")
@click.option("--email", default=None, metavar="ADDRESS", help="Where security notices go (optional).")
def users_create(username: str, admin: bool, email: str | None) -> None:
    """Create USERNAME; the password comes from a prompt, or from stdin when piped."""
    user = create_user(username, _read_password(), Role.ADMIN if admin else Role.CLIENT, email=email)
    click.echo(f"Created {user.role} {user.username}" + (f" <{user.email}>." if user.email else "."))


@users_cli.command("set-password")
@click.argument("username")
def users_set_password(username: str) -> None:
    """Set USERNAME's password (a reset: ends their sessions, tells them by mail); the password
    comes from a prompt, or from stdin when piped, and meets the same rules as the form's."""
    from app.auth.service import end_all_sessions
    from app.mail import mailer
    from app.models import utcnow

    user = db.session.scalar(db.select(User).where(User.username == username))
    if user is None:
        raise click.UsageError(f"No user called {username!r}.")
    password = _read_password()
    problems = password_problems(password, username)
    if problems:
        raise click.UsageError(" ".join(problems))
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    db.session.commit()
    end_all_sessions(user, reason="password reset (CLI)")
    emit_security_event(
        EventType.PASSWORD_RESET,
        Severity.HIGH,
        user=user,
        description="password reset (CLI)",
        metadata={"username": user.username, "by": "command line"},
    )
    # The notice leaves from a background thread: let it go before this process ends.
    mailer().wait_idle()
    click.echo(f"Password of {username} set; their sessions are signed out.")


@users_cli.command("set-role")
@click.argument("username")
@click.argument("role", type=click.Choice([r.value for r in Role]))
def users_set_role(username: str, role: str) -> None:
    """Change USERNAME's role (ends their sessions)."""
    from app.auth.service import end_all_sessions

    user = db.session.scalar(db.select(User).where(User.username == username))
    if user is None:
        raise click.UsageError(f"No user called {username!r}.")
    old = user.role
    user.role = role
    db.session.commit()
    end_all_sessions(user, reason="role changed")
    emit_security_event(
        EventType.ROLE_CHANGE,
        Severity.HIGH,
        user=user,
        description=f"role changed from {old} to {role} (CLI)",
        metadata={"from": old, "to": role},
    )
    click.echo(f"{username}: {old} -> {role}")


@plugins_cli.command("list")
def plugins_list() -> None:
    """Show every plugin found and whether it is enabled, disabled (and why) or failed."""
    registry = current_app.extensions["portal.plugins"]
    if not registry.records:
        click.echo("No plugins found.")
    for record in registry.records:
        line = f"{record.name:<14} {record.status:<9} {record.source}"
        if record.reason:
            line += f"  ({record.reason})"
        click.echo(line)


@jobs_cli.command("list")
def jobs_list() -> None:
    """List the enabled plugins' jobs with their schedule and last run."""
    jobs = all_jobs()
    if not jobs:
        click.echo("No jobs: no enabled plugin contributes one.")
        return
    latest, paused = JobRun.latest_by_job(), paused_jobs()
    for name, job in sorted(jobs.items()):
        schedule = f"{job.trigger} " + " ".join(f"{k}={v}" for k, v in job.trigger_args.items())
        run = latest.get(name)
        last = (
            "never run"
            if run is None
            else (f"last {run.started_at:%Y-%m-%d %H:%M:%S} {run.outcome} {(run.duration_ms or 0):.0f} ms")
        )
        state = " [paused]" if name in paused else ""
        click.echo(f"{name:<32} {schedule:<24} {last}{state}")


@jobs_cli.command("run")
@click.argument("name")
def jobs_run(name: str) -> None:
    """Run job NAME now and record the run."""
    jobs = all_jobs()
    if name not in jobs:
        raise click.UsageError(f"No job {name!r}. Known jobs: {', '.join(sorted(jobs)) or 'none'}")
    run = run_job(current_app._get_current_object(), jobs[name], trigger="manual")
    click.echo(f"{name}: {run.outcome} in {run.duration_ms:.0f} ms")
    if run.outcome != "success":
        click.echo(run.error or "", err=True)
        sys.exit(1)


@jobs_cli.command("serve")
@click.option(
    "--poll",
    default=RENEW_SECONDS,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Seconds between lock checks (renewals); a Redis lock lives 5 of them.",
)
def jobs_serve(poll: float) -> None:
    """Run the scheduler in this process (one active runner per deployment; others stand by)."""
    from app.scheduler import SchedulerRunner

    runner = SchedulerRunner(current_app._get_current_object(), poll_seconds=poll)
    signal.signal(signal.SIGTERM, lambda *_: runner._stop.set())
    click.echo("Scheduler runner started; Ctrl-C to stop.")
    try:
        runner.run()
    except KeyboardInterrupt:
        pass


def seed_demo() -> list[str]:
    """Create the demo admin and client (once) and let each enabled plugin add its demo data."""
    credentials_file = Path(current_app.instance_path) / "demo-credentials.txt"
    known: dict[str, str] = {}
    if credentials_file.is_file():
        for line in credentials_file.read_text().splitlines():
            name, _, password = line.partition(" ")
            known[name] = password
    lines, users = [], {}
    for username, role in (("admin", Role.ADMIN), ("client", Role.CLIENT)):
        user = db.session.scalar(db.select(User).where(User.username == username))
        if user is None:
            password = secrets.token_urlsafe(12)
            user = create_user(username, password, role)
            known[username] = password
        users[role.value] = user
        shown = known.get(username, "(set earlier; not known to this seed)")
        lines.append(f"{role.value:<6} username: {username}  password: {shown}")
    credentials_file.parent.mkdir(parents=True, exist_ok=True)
    credentials_file.write_text("".join(f"{n} {p}\n" for n, p in known.items()))
    credentials_file.chmod(0o600)
    for plugin_lines in call_hook("portal_demo_seed", users=users):
        lines.extend(plugin_lines)
    return lines


@demo_cli.command("seed")
def demo_seed() -> None:
    """Create demo users and each enabled plugin's demo data (safe to run again)."""
    for line in seed_demo():
        click.echo(line)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-demo", is_flag=True, help="Do not create the demo users and data.")
@with_appcontext
def serve(host: str, port: int, no_demo: bool) -> None:
    """Embedded mode: migrate, seed the demo data, run the scheduler here and serve (waitress,
    SERVE_THREADS threads) until Ctrl-C or SIGTERM."""
    from flask_migrate import upgrade

    from app.scheduler import SchedulerRunner
    from app.serving import build_server, listening_urls, serve_until_stopped

    app: Flask = current_app._get_current_object()
    upgrade()
    if not no_demo:
        for line in seed_demo():
            click.echo(line)
    server = build_server(app, host, port)  # binds now: a port in use fails before the scheduler
    runner = None
    if app.config["SCHEDULER_ENABLED"]:
        runner = SchedulerRunner(app)
        runner.start_in_background()
    for url in listening_urls(server):
        click.echo(f"El-Mag Client Portal on {url}")
    try:
        serve_until_stopped(server)
    finally:
        if runner is not None:
            runner.stop()
        click.echo("Stopped.")


def init_app(app: Flask) -> None:
    for command in (users_cli, plugins_cli, jobs_cli, demo_cli, serve):
        app.cli.add_command(command)
