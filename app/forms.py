"""The base of the portal's HTML forms: Flask-WTF's FlaskForm, reading form-encoded bodies only.

Flask-WTF also fills a form from a JSON body, building a MultiDict from whatever JSON it gets:
a number or a list there raised a 500 before CSRF was even checked, and non-text values reached
the validators. The portal's forms are HTML forms (its JSON API reads bodies with
``app.api.json_body``), so a JSON body fills no field and the form answers its usual errors.
"""

from __future__ import annotations

from flask import has_request_context, request
from flask_wtf import FlaskForm
from flask_wtf.form import SUBMIT_METHODS
from werkzeug.datastructures import ImmutableMultiDict


class PortalForm(FlaskForm):
    class Meta(FlaskForm.Meta):
        def wrap_formdata(self, form, formdata):
            # ``formdata`` is Flask-WTF's "read the request" marker unless a caller passed data.
            from_request = formdata is not None and not hasattr(formdata, "getlist")
            if from_request and _json_submission():
                return ImmutableMultiDict()
            return super().wrap_formdata(form, formdata)


def _json_submission() -> bool:
    return (
        has_request_context()
        and request.method in SUBMIT_METHODS
        and request.is_json
        and not request.form
        and not request.files
    )
