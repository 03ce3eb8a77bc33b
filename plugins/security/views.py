"""The blueprint ``security`` (admins only): the IP bans (lift) and the top rate-limit offenders."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from app.access import ADMIN, protect_blueprint
from app.extensions import db
from app.forms import PortalForm
from app.models import as_utc, utcnow
from plugins.security import limiting
from plugins.security.bans import lift_bans
from plugins.security.models import IpBan, RateLimitRecord

bp = Blueprint("security", __name__, url_prefix="/security", template_folder="templates")
protect_blueprint(bp, ADMIN)
# The limits' headers, and a sign-in attempt charged only once the view has answered.
bp.after_app_request(limiting.finish_limits)

RECENT_BANS = 50
TOP_OFFENDERS = 20


class LiftForm(PortalForm):
    """CSRF-protected POST for the lift action."""


@bp.route("/bans")
def bans():
    now = utcnow()
    recent = db.session.scalars(select_recent()).all()
    offenders = db.session.scalars(
        db.select(RateLimitRecord).order_by(RateLimitRecord.request_count.desc()).limit(TOP_OFFENDERS)
    ).all()
    active = [ban for ban in recent if ban.lifted_at is None and as_utc(ban.expires_at) > now]
    return render_template(
        "security/bans.html",
        recent=recent,
        active_ids={b.id for b in active},
        offenders=offenders,
        form=LiftForm(),
    )


@bp.route("/bans/<int:ban_id>/lift", methods=["POST"])
def lift_ban(ban_id: int):
    form = LiftForm()
    if not form.validate_on_submit():
        flash("The form expired; please try again.", "error")
    elif lift_bans(ban_id=ban_id, lifted_by=current_user.username):
        flash("The ban was lifted.", "success")
    else:
        flash("That ban is not active any more.", "info")
    return redirect(url_for("security.bans"))


def select_recent():
    return db.select(IpBan).order_by(IpBan.id.desc()).limit(RECENT_BANS)


def _aware(value):
    return as_utc(value)
