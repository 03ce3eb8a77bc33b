"""The account security page: linked for signed-in users, its core sections, and the sections
plugins add through ``portal_account_sections`` (the mfa plugin's TOTP status among them)."""

from __future__ import annotations

import pytest

from app.account.sections import AccountSection
from app.plugin import Plugin


def test_anonymous_users_are_sent_to_sign_in(client):
    response = client.get("/account/security")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_the_navigation_links_the_page_for_signed_in_users(client, auth, make_user):
    make_user("alice")
    auth.login("alice")
    home = client.get("/").get_data(as_text=True)
    assert 'href="/account/security"' in home


def test_the_page_shows_password_age_sessions_and_an_empty_activity_without_the_log(client, auth, make_user):
    make_user("alice")
    auth.login("alice")
    page = client.get("/account/security")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="password"' in html and "(today)" in html
    assert html.count("data-session=") == 1 and "(this browser)" in html
    assert "does not keep a security log" in html  # the security plugin is off in this test


def _plugin_with(sections_of) -> Plugin:
    return Plugin(name="extra_sections", hooks={"portal_account_sections": sections_of})


def _section(key: str, title: str, order: int, **context) -> AccountSection:
    return AccountSection(
        key=key, title=title, template="account/_test_section.html", context=context, order=order
    )


def test_plugin_sections_render_in_order_with_their_context_escaped(tmp_path, make_user):
    from tests.conftest import AuthActions, portal

    def sections_of(user):
        return [
            _section("late", "Late", 300, note="second"),
            _section("early", "Early", 50, note=f"<b>{user.username}</b>"),
        ]

    with portal(
        tmp_path, PORTAL_EXTRA_PLUGINS=(_plugin_with(sections_of),), PORTAL_PLUGINS="extra_sections"
    ) as application:
        from jinja2 import ChoiceLoader, DictLoader

        application.jinja_env.loader = ChoiceLoader(
            [
                application.jinja_env.loader,
                DictLoader({"account/_test_section.html": "<p class=probe>{{ note }}</p>"}),
            ]
        )
        _make(application, "bob")
        client = application.test_client()
        AuthActions(client).login("bob")
        html = client.get("/account/security").get_data(as_text=True)
    # Below order 100 a section is a sign-in method: after the password, before the e-mail and
    # the sessions; from 100 on, after the core's sections.
    assert html.index('id="sign-in-methods"') < html.index('id="password"') < html.index('id="early"')
    assert html.index('id="early"') < html.index('id="email"') < html.index('id="sessions"')
    assert html.index('id="activity"') < html.index('id="late"')
    assert "&lt;b&gt;bob&lt;/b&gt;" in html and "<b>bob</b>" not in html


def test_a_section_answer_that_is_not_a_section_fails_loudly(tmp_path):
    from app.account.sections import plugin_sections
    from tests.conftest import portal

    with portal(
        tmp_path,
        PORTAL_EXTRA_PLUGINS=(_plugin_with(lambda user: ["not a section"]),),
        PORTAL_PLUGINS="extra_sections",
    ) as application:
        with application.test_request_context(), pytest.raises(TypeError):
            plugin_sections(None)


def _make(application, username: str) -> None:
    from app.auth.passwords import hash_password
    from app.extensions import db
    from app.models import User
    from tests.conftest import PASSWORD

    with application.app_context():
        db.session.add(User(username=username, password_hash=hash_password(PASSWORD)))
        db.session.commit()


@pytest.mark.plugins("mfa")
def test_the_mfa_plugin_shows_totp_status_and_backup_codes_left(client, auth, make_user, app):
    from app.extensions import db
    from app.models import User
    from plugins.mfa import service

    user = make_user("alice")
    auth.login("alice")
    html = client.get("/account/security").get_data(as_text=True)
    assert 'id="mfa-totp"' in html and "status-disabled" in html
    # TOTP is a sign-in method: listed with the password, before the sessions.
    assert html.index('id="password"') < html.index('id="mfa-totp"') < html.index('id="sessions"')
    with app.app_context():
        attached = db.session.get(User, user.id)
        secret = service.start_enrolment(attached)
        import pyotp

        assert service.confirm_enrolment(attached, pyotp.TOTP(secret).now()) is not None
    html = client.get("/account/security").get_data(as_text=True)
    assert "status-enabled" in html and "data-backup-codes>10<" in html
