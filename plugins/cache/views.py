"""The admin page /cache/: stats, hit-ratio chart, entries by tag, invalidate, clear."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from app.access import ADMIN, protect_blueprint
from app.forms import PortalForm
from plugins.cache.chart import ratio_chart
from plugins.cache.service import MAX_TAG_LENGTH
from plugins.cache.state import state as service

bp = Blueprint("cache", __name__, url_prefix="/cache", template_folder="templates")
protect_blueprint(bp, ADMIN)


class TagForm(PortalForm):
    # "value" is the field the shared post_button macro sends.
    value = StringField("Tag", validators=[DataRequired(), Length(max=MAX_TAG_LENGTH)])


class ClearForm(PortalForm):
    pass


@bp.get("/")
def index():
    cache = service()
    return render_template(
        "cache/index.html",
        stats=cache.stats(),
        by_tag=cache.entries_by_tag(),
        chart=ratio_chart(cache.ratio_series()),
        form=TagForm(),
    )


@bp.post("/invalidate")
def invalidate():
    form = TagForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(f"Tag: {error}", "error")
        return redirect(url_for("cache.index"))
    tag = form.value.data.strip()
    removed = service().delete_by_tags((tag,))
    flash(f"Invalidated tag {tag!r}: {removed} entries removed.", "success")
    return redirect(url_for("cache.index"))


@bp.post("/clear")
def clear():
    if not ClearForm().validate_on_submit():
        flash("The form expired; please try again.", "error")
        return redirect(url_for("cache.index"))
    removed = service().clear()
    flash(f"Cache cleared: {removed} entries removed.", "success")
    return redirect(url_for("cache.index"))
