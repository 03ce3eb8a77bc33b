"""Admin views: plugins overview, jobs (run now, pause), users (role change)."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from wtforms import HiddenField, SelectField

from app.admin.blueprint import bp
from app.auth.reauth import reauth_required
from app.auth.service import end_all_sessions
from app.events import EventType, Severity
from app.extensions import db
from app.forms import PortalForm
from app.jobs import all_jobs, paused_jobs, run_job, set_paused
from app.models import JobRun, Role, User
from app.pagination import page_arg
from app.signals import emit_security_event

PAGE_SIZE = 25


class ConfirmForm(PortalForm):
    """A POST-only action form: CSRF token plus an optional value."""

    value = HiddenField()


class RoleForm(PortalForm):
    role = SelectField("Role", choices=[r.value for r in Role])


@bp.route("/")
def index():
    registry = current_app.extensions["portal.plugins"]
    return render_template("admin/index.html", records=registry.records)


@bp.route("/jobs")
def jobs():
    page = page_arg()
    runs = db.paginate(
        db.select(JobRun).order_by(JobRun.id.desc()), page=page, per_page=PAGE_SIZE, error_out=False
    )
    return render_template(
        "admin/jobs.html",
        jobs=sorted(all_jobs().values(), key=lambda j: j.name),
        latest=JobRun.latest_by_job(),
        paused=paused_jobs(),
        runs=runs,
        form=ConfirmForm(),
    )


def _job_or_404(name: str):
    job = all_jobs().get(name)
    if job is None:
        abort(404, description=f"No job called {name!r}.")
    return job


@bp.route("/jobs/<name>/run", methods=["POST"])
def run_job_now(name: str):
    job = _job_or_404(name)
    if ConfirmForm().validate_on_submit():
        run = run_job(current_app._get_current_object(), job, trigger="manual")
        category = "success" if run.outcome == "success" else "error"
        flash(f"{name}: {run.outcome} in {run.duration_ms:.0f} ms.", category)
    return redirect(url_for("admin.jobs"))


@bp.route("/jobs/<name>/pause", methods=["POST"])
def pause_job(name: str):
    _job_or_404(name)
    form = ConfirmForm()
    if form.validate_on_submit():
        paused = form.value.data == "pause"
        set_paused(name, paused, current_user.username)
        emit_security_event(
            EventType.CONFIGURATION_CHANGE,
            Severity.MEDIUM,
            user=current_user,
            description=f"job {name} {'paused' if paused else 'resumed'}",
            metadata={"job": name, "paused": paused},
        )
        flash(f"{name} {'paused' if paused else 'resumed'}.", "success")
    return redirect(url_for("admin.jobs"))


@bp.route("/users")
def users():
    page = page_arg()
    listing = db.paginate(
        db.select(User).order_by(User.username), page=page, per_page=PAGE_SIZE, error_out=False
    )
    return render_template("admin/users.html", users=listing, form=RoleForm(), roles=[r.value for r in Role])


@bp.route("/users/<int:user_id>/role", methods=["POST"])
@reauth_required(return_to="admin.users")
def change_role(user_id: int):
    user = db.session.get(User, user_id) or abort(404, description="No such user.")
    form = RoleForm()
    if not form.validate_on_submit():
        flash("Choose client or admin.", "error")
        return redirect(url_for("admin.users"))
    if user.id == current_user.id:
        flash("You cannot change your own role; ask another admin.", "error")
        return redirect(url_for("admin.users"))
    old, new = user.role, form.role.data
    if old != new:
        user.role = new
        db.session.commit()
        end_all_sessions(user, reason="role changed")
        emit_security_event(
            EventType.ROLE_CHANGE,
            Severity.HIGH,
            user=current_user,
            description=f"{user.username}: role {old} -> {new}",
            metadata={"target_user_id": user.id, "from": old, "to": new},
        )
        flash(f"{user.username} is now {new}; their sessions were ended.", "success")
    return redirect(url_for("admin.users"))
