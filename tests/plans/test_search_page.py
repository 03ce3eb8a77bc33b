"""/plans/: the search page without JavaScript, its form errors, empty state and plan details."""

import re

import pytest

pytestmark = pytest.mark.plugins("plans")


def page(client, **params):
    return client.get("/plans/", query_string=params)


def test_anonymous_visitors_are_sent_to_sign_in(shared_app):
    response = page(shared_app.test_client())
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_the_form_is_a_get_form_and_results_are_listed(reader):
    html = page(reader, state="NY").get_data(as_text=True)
    assert re.search(r'<form method="get" action="/plans/"', html)
    assert "2 plans found" in html
    assert "Pioneer Medicare H0006-001" in html and "Los Angeles" not in html
    # The chosen filters stay in the form and the state's counties are suggested.
    assert '<option selected value="NY">' in html or '<option value="NY" selected>' in html
    assert '<option value="Kings">' in html


def test_money_and_missing_values_are_shown_plainly(reader):
    html = page(reader, state="NY", sort="-premium").get_data(as_text=True)
    assert "$120.00" in html and "Not rated" in html and "5.0 &#9733;" in html


def test_pagination_links_keep_the_filters(reader):
    html = page(reader, state="CA", per_page=2, sort="-premium").get_data(as_text=True)
    link = re.search(r'<a rel="next" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "state=CA" in link and "sort=-premium" in link and "page=2" in link
    assert "Page 1 of 3" in html
    assert "Page 2 of 3" in reader.get(link).get_data(as_text=True)


def test_no_match_shows_an_empty_state(reader):
    response = page(reader, state="TX")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "0 plans found" in html and "No plans match these filters" in html


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"premium_min": "abc"}, "Premium from ($/month): Not a valid decimal value."),
        ({"premium_min": "90", "premium_max": "10"}, "must not be below premium_min"),
        ({"min_stars": "9"}, "Minimum stars: Number must be between 0 and 5."),
        ({"carrier": "x" * 10_000}, "Field cannot be longer than 80 characters."),
        ({"sort": "cheapest"}, "Sort by: must be one of"),
        ({"page": "-1"}, "Page: Number must be between 1 and 10000."),
        ({"utm_source": "mail"}, "utm_source is not a search parameter"),
    ],
)
def test_bad_filters_show_form_errors_not_a_server_error(reader, params, message):
    response = page(reader, **params)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'class="error-summary" role="alert"' in html
    assert message.replace("'", "&#39;") in html.replace("&#34;", '"')
    assert "plans found" not in html


def test_plan_details(reader, shared_app):
    html = page(reader, carrier="summit senior").get_data(as_text=True)
    href = re.search(r'href="(/plans/\d+)"', html).group(1)
    detail = reader.get(href).get_data(as_text=True)
    assert "Summit Senior Care M0005-001" in detail and "$162.75" in detail and "Not rated" in detail
    assert reader.get("/plans/999999").status_code == 404


def test_pages_pass_the_content_security_policy(reader):
    """No inline style or script: the page's CSS is a file of the plugin."""
    html = page(reader).get_data(as_text=True)
    assert "style=" not in html and "<script>" not in html
    with reader.get("/plans/static/plans.css") as response:
        assert response.status_code == 200 and response.mimetype == "text/css"
