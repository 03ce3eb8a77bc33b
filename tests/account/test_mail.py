"""The background mail sender: delivers through a real SMTP server, drops (and logs) beyond its
bounded queue instead of growing, ends its thread when idle and starts another for new mail."""

from __future__ import annotations

import logging
import time
from email.message import EmailMessage

from app import mail
from app.mail import Mailer, SmtpSettings


def settings_for(port: int | None) -> SmtpSettings:
    return SmtpSettings(
        host="127.0.0.1" if port else None,
        port=port or 25,
        username=None,
        password=None,
        starttls=False,
        timeout=5.0,
    )


def message(number: int) -> EmailMessage:
    note = EmailMessage()
    note["Subject"], note["From"], note["To"] = f"note {number}", "portal@localhost", "a@example.com"
    note.set_content("hello")
    return note


def test_messages_reach_the_smtp_server(smtp_inbox):
    sender = Mailer(settings_for(smtp_inbox.port))
    for number in range(3):
        assert sender.submit(message(number))
    assert sender.wait_idle()
    assert sorted(m["Subject"] for m in smtp_inbox.wait_for(3)) == ["note 0", "note 1", "note 2"]


def test_a_full_queue_drops_and_logs_instead_of_growing(smtp_inbox, monkeypatch, caplog):
    monkeypatch.setattr(mail, "QUEUE_SIZE", 2)
    smtp_inbox.gate.clear()  # the server holds the first message: the queue fills behind it
    sender = Mailer(settings_for(smtp_inbox.port))
    with caplog.at_level(logging.WARNING, logger="app.mail"):
        accepted = [sender.submit(message(number)) for number in range(6)]
    assert accepted.count(False) >= 3 and "mail queue full" in caplog.text
    smtp_inbox.gate.set()
    assert sender.wait_idle()
    assert len(smtp_inbox.wait_for(accepted.count(True))) == accepted.count(True)


def test_an_idle_sender_thread_ends_and_new_mail_starts_another(smtp_inbox, monkeypatch):
    monkeypatch.setattr(mail, "IDLE_SECONDS", 0.05)
    sender = Mailer(settings_for(smtp_inbox.port))
    sender.submit(message(1))
    assert sender.wait_idle()
    deadline = time.monotonic() + 5
    while sender._thread is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sender._thread is None
    sender.submit(message(2))
    assert sender.wait_idle() and len(smtp_inbox.wait_for(2)) == 2


def test_an_unreachable_server_is_logged_not_raised(caplog):
    from tests.account.conftest import free_port

    sender = Mailer(settings_for(free_port()))  # nothing listens there
    with caplog.at_level(logging.ERROR, logger="app.mail"):
        sender.submit(message(1))
        assert sender.wait_idle()
    assert sender.failed == 1 and "mail to a@example.com failed" in caplog.text
