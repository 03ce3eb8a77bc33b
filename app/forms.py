"""The base of the portal's HTML forms: Flask-WTF's FlaskForm, reading form fields only.

Flask-WTF also fills a form from a JSON body, building a MultiDict from whatever JSON it gets (a
number or a list there raised a 500 before CSRF was even checked), and from uploaded files (a
file sent under a text field's name reached its validators as a FileStorage: a 500). The
portal's forms are text forms and its JSON API reads bodies with ``app.api.json_body``, so only
the form-encoded fields count; anything else fills no field and the form answers its errors.
"""

from __future__ import annotations

from flask import has_request_context, request
from flask_wtf import FlaskForm
from flask_wtf.form import SUBMIT_METHODS


class PortalForm(FlaskForm):
    class Meta(FlaskForm.Meta):
        def wrap_formdata(self, form, formdata):
            # ``formdata`` is Flask-WTF's "read the request" marker unless a caller passed data.
            from_request = formdata is not None and not hasattr(formdata, "getlist")
            if from_request and has_request_context() and request.method in SUBMIT_METHODS:
                return request.form  # empty for a JSON body; files stay out
            return super().wrap_formdata(form, formdata)
