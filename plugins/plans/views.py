"""The plan search page, plan details, and the signed-in client's own policies."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user

from app.events import EventType, Severity
from app.extensions import db
from app.signals import emit_security_event
from plugins.plans.forms import SearchForm
from plugins.plans.models import Plan, Policy
from plugins.plans.search import cached_search, counties

bp = Blueprint("plans", __name__, url_prefix="/plans", template_folder="templates", static_folder="static")


@bp.route("/")
def search():
    form = SearchForm.from_request()
    if not form.validate():
        return render_template("plans/search.html", form=form, result=None, counties=[]), 400
    criteria = form.criteria()
    return render_template(
        "plans/search.html",
        form=form,
        result=cached_search(criteria),
        counties=counties(criteria.state) if criteria.state else [],
    )


@bp.route("/<int:plan_id>")
def detail(plan_id: int):
    plan = db.get_or_404(Plan, plan_id, description="No plan with this number.")
    return render_template("plans/detail.html", plan=plan)


@bp.route("/policies")
def policies():
    rows = list(
        db.session.scalars(
            db.select(Policy)
            .where(Policy.user_id == current_user.id)
            .order_by(Policy.start_date.desc(), Policy.id.desc())
        )
    )
    emit_security_event(
        EventType.DATA_VIEWED,
        user=current_user,
        description="viewed own policy list",
        metadata={"resource": "policies", "count": len(rows)},
    )
    return render_template("plans/policies.html", policies=rows)


@bp.route("/policies/<int:policy_id>")
def policy(policy_id: int):
    record = db.session.get(Policy, policy_id)
    if record is None or record.user_id != current_user.id:
        if record is not None:
            # Same 404 as for a missing number (nothing leaks), but the audit log sees the probe.
            emit_security_event(
                EventType.ACCESS_DENIED,
                Severity.MEDIUM,
                user=current_user,
                description="tried to open another client's policy",
                metadata={"resource": "policy", "policy_id": policy_id},
            )
        abort(404, description="No policy of yours has this number.")
    emit_security_event(
        EventType.DATA_VIEWED,
        user=current_user,
        description="viewed own policy",
        metadata={"resource": "policy", "policy_id": record.id},
    )
    return render_template("plans/policy.html", policy=record)
