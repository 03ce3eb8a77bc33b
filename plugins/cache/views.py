"""The admin page /cache/ (stats, hit-ratio chart, entries by tag, invalidate, clear) and the
admin API under /api/v1/cache/."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, url_for
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from app.access import ADMIN, protect_blueprint
from app.api import API_PREFIX, fail, json_body
from app.forms import PortalForm
from plugins.cache.chart import ratio_chart
from plugins.cache.service import MAX_TAG_LENGTH, CacheService, normalize_tags

bp = Blueprint("cache", __name__, url_prefix="/cache", template_folder="templates")
protect_blueprint(bp, ADMIN)
api_bp = Blueprint("cache_api", __name__, url_prefix=f"{API_PREFIX}/cache")
protect_blueprint(api_bp, ADMIN)
MAX_TAGS_PER_CALL = 100


class TagForm(PortalForm):
    # "value" is the field the shared post_button macro sends.
    value = StringField("Tag", validators=[DataRequired(), Length(max=MAX_TAG_LENGTH)])


class ClearForm(PortalForm):
    pass


def service() -> CacheService:
    return current_app.extensions["portal.cache"]


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


@api_bp.get("/stats")
def api_stats():
    cache = service()
    return jsonify({**cache.stats(), "entries_by_tag": cache.entries_by_tag()})


@api_bp.post("/invalidate")
def api_invalidate():
    tags = json_body().get("tags")
    if not isinstance(tags, list) or not tags:
        fail("tags must be a non-empty list of tag names", "tags")
    if len(tags) > MAX_TAGS_PER_CALL:
        fail(f"tags may hold at most {MAX_TAGS_PER_CALL} names", "tags")
    try:
        clean = normalize_tags(tags)
    except ValueError as error:
        fail(str(error), "tags")
    return jsonify({"tags": list(clean), "invalidated": service().delete_by_tags(clean)})
