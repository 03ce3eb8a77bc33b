"""The security console's pages: dashboard, CSV export, alerts, and one page per IP (admins only).

Their URLs are on the blueprint ``security_console`` (``plugins/security/console.py``)."""

from __future__ import annotations

import csv
import io

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import func, select
from wtforms.fields import SelectChoice

from app.extensions import db
from app.models import Role, User
from app.pagination import page_arg
from app.plugin import first_hook_result
from app.timestamps import rfc3339
from plugins.security.models import SecurityEvent
from plugins.security.threats import blocking, charts, queries
from plugins.security.threats.alerts import change_alert, reopen_conflict
from plugins.security.threats.forms import AlertUpdateForm, BlockForm
from plugins.security.threats.models import OPEN_STATUSES, AlertEvent, AlertStatus, SecurityAlert
from plugins.security.threats.report import safe_cell

PER_PAGE = 25
CSV_LIMIT = 100_000


def _filters_or_400() -> queries.EventFilters | tuple:
    try:
        return queries.parse_filters(request.args)
    except queries.FilterError as error:
        return error


def dashboard():
    filters = _filters_or_400()
    error = filters if isinstance(filters, queries.FilterError) else None
    if error is not None:
        filters = queries.EventFilters()
    labels = queries.bucket_labels(filters.range)
    page = db.paginate(
        queries.filtered_events(filters), page=page_arg(), per_page=PER_PAGE, error_out=False, count=True
    )
    active = list(
        db.session.scalars(
            select(SecurityAlert)
            .where(SecurityAlert.status.in_(OPEN_STATUSES))
            .order_by(SecurityAlert.last_occurrence.desc(), SecurityAlert.id.desc())
            .limit(20)
        )
    )
    latest_alert_id = db.session.scalar(select(func.max(SecurityAlert.id))) or 0
    html = render_template(
        "security_console/dashboard.html",
        filters=filters,
        filter_error=error,
        sev_chart=charts.stacked_severity(labels, queries.series(filters.range, SecurityEvent.severity)),
        kind_chart=charts.type_lines(labels, queries.series(filters.range, SecurityEvent.event_type)),
        active=active,
        latest_alert_id=latest_alert_id,
        top_ips=queries.top_ips(filters.since),
        page=page,
        mfa=first_hook_result("portal_mfa_adoption"),
        ranges=list(queries.RANGES),
        event_types=list(queries.EventType.__members__),
        severities=list(queries.Severity.__members__),
        poll_seconds=current_app.config["SECURITY_DASHBOARD_POLL_SECONDS"],
    )
    return html, (400 if error else 200)


def export_events():
    filters = _filters_or_400()
    if isinstance(filters, queries.FilterError):
        return Response(f"{filters.field}: {filters}\n", status=400, mimetype="text/plain")
    # Plain rows, read now: the response streams after the request's session is gone.
    rows = [
        (e.id, e.timestamp, e.event_type, e.severity, e.user_id, e.ip_address, e.description, e.resolved)
        for e in db.session.scalars(queries.filtered_events(filters).limit(CSV_LIMIT))
    ]

    def generate():
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            ["id", "timestamp", "event_type", "severity", "user_id", "ip_address", "description", "resolved"]
        )
        for event_id, timestamp, kind, severity, user_id, ip, description, resolved in rows:
            writer.writerow(
                [
                    event_id,
                    rfc3339(timestamp),
                    kind,
                    severity,
                    user_id if user_id is not None else "",
                    safe_cell(ip),
                    safe_cell(description),
                    "yes" if resolved else "no",
                ]
            )
            yield out.getvalue()
            out.seek(0)
            out.truncate()
        if out.getvalue():
            yield out.getvalue()

    headers = {"Content-Disposition": f'attachment; filename="security-events-{filters.range}.csv"'}
    return Response(generate(), mimetype="text/csv", headers=headers)


def alerts():
    status = request.args.get("status") or "open"
    choices = ("open", "all", *[s.value for s in AlertStatus])
    if status not in choices:
        flash("Unknown status filter; showing open alerts.", "error")
        return render_alert_list("open", 400)
    return render_alert_list(status, 200)


def render_alert_list(status: str, code: int):
    query = select(SecurityAlert)
    if status == "open":
        query = query.where(SecurityAlert.status.in_(OPEN_STATUSES))
    elif status != "all":
        query = query.where(SecurityAlert.status == status)
    page = db.paginate(
        query.order_by(SecurityAlert.last_occurrence.desc(), SecurityAlert.id.desc()),
        page=page_arg(),
        per_page=PER_PAGE,
        error_out=False,
    )
    statuses = ["open", "all", *[s.value for s in AlertStatus]]
    return render_template("security_console/alerts.html", page=page, status=status, statuses=statuses), code


def admin_choices(current: str | None) -> list[SelectChoice]:
    """Unassigned, every admin, and the current assignee even if no longer an admin."""
    query = select(User.username).where(User.role == Role.ADMIN.value).order_by(User.username)
    names = list(db.session.scalars(query))
    if current and current not in names:
        names.append(current)
    return [SelectChoice("", "(unassigned)")] + [SelectChoice(name) for name in names]


def alert_detail(alert_id: int):
    alert = db.get_or_404(SecurityAlert, alert_id, description="No alert with this number.")
    form = AlertUpdateForm(obj=None if request.method == "POST" else alert)
    form.assigned_to.choices = admin_choices(alert.assigned_to)
    if request.method == "GET":
        form.assigned_to.data = alert.assigned_to or ""
    status_code = 200
    if form.validate_on_submit():
        if form.status.data in OPEN_STATUSES and not alert.is_open and reopen_conflict(alert):
            form.status.errors.append("Another alert for this rule and subject is open; work on that one.")
            status_code = 400
        else:
            changed = change_alert(
                alert,
                status=form.status.data,
                assigned_to=form.assigned_to.data,
                notes=form.notes.data,
                by=current_user.username,
            )
            flash(f"Alert updated ({', '.join(changed)})." if changed else "Nothing changed.", "success")
            return redirect(url_for(".alert_detail", alert_id=alert.id))
    elif request.method == "POST":
        status_code = 400
    events = list(
        db.session.scalars(
            select(SecurityEvent)
            .join(AlertEvent, AlertEvent.event_id == SecurityEvent.id)
            .where(AlertEvent.alert_id == alert.id)
            .order_by(SecurityEvent.id.desc())
            .limit(100)
        )
    )
    return render_template(
        "security_console/alert_detail.html", alert=alert, form=form, events=events
    ), status_code


def _valid_ip(ip: str) -> str:
    try:
        return blocking.normalize_ip(ip)
    except ValueError:
        abort(400, description="Not an IP address.")


def ip_page(ip: str):
    ip = _valid_ip(ip)
    return render_ip_page(ip, BlockForm(), 200)


def render_ip_page(ip: str, form: BlockForm, code: int):
    events = db.paginate(
        select(SecurityEvent).where(SecurityEvent.ip_address == ip).order_by(SecurityEvent.id.desc()),
        page=page_arg(),
        per_page=PER_PAGE,
        error_out=False,
    )
    summary = queries.ip_summary(ip)
    return render_template("security_console/ip.html", summary=summary, page=events, form=form), code


def block(ip: str):
    ip = _valid_ip(ip)
    form = BlockForm()
    if not form.validate_on_submit():
        return render_ip_page(ip, form, 400)
    if ip == request.remote_addr:
        form.minutes.errors.append("That is your own address; blocking it would lock you out.")
        return render_ip_page(ip, form, 400)
    blocking.block_ip(ip, form.minutes.data, form.reason.data, by=current_user.username)
    flash(f"{ip} is blocked for {form.minutes.data} minutes.", "success")
    return redirect(url_for(".ip_page", ip=ip))


def unblock(ip: str):
    ip = _valid_ip(ip)
    count = blocking.unblock_ip(ip, by=current_user.username)
    flash(f"{ip} is unblocked." if count else f"{ip} was not blocked.", "success" if count else "info")
    return redirect(url_for(".ip_page", ip=ip))
