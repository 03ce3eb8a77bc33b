"""The portal's outgoing mail (MAIL_* settings): an address check, and a sender that works off
the request path, so that a slow or unreachable SMTP server never holds a worker.

Messages go to one background thread per process through a bounded queue; when the queue is
full a message is dropped and logged (a notice is worth less than the portal staying up). With
no MAIL_SMTP_HOST the message is written to the log instead (development). The security
plugin's alert mail uses the same server when its own SECURITY_SMTP_HOST is not set.
"""

from __future__ import annotations

import logging
import queue
import smtplib
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from flask import Flask, current_app

from app.config import ConfigError

log = logging.getLogger(__name__)
QUEUE_SIZE = 200
IDLE_SECONDS = 30.0  # an idle sender thread ends; the next message starts another
MAX_ADDRESS_LENGTH = 254
LOCAL_CHARACTERS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.!#$%&'*+/=?^_`{|}~-"
)
DOMAIN_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def normalize_address(text: str, single_label: bool = False) -> str:
    """``text`` as an e-mail address (the domain lower-cased), or ValueError with a message a
    user can act on; ``single_label`` accepts a domain without a dot (``portal@localhost``,
    for the sender). A plain check of characters and parts: linear, no regular expression,
    and nothing that could put a second header or recipient into a message."""
    address = (text or "").strip()
    if not address:
        raise ValueError("Enter an e-mail address.")
    if len(address) > MAX_ADDRESS_LENGTH:
        raise ValueError(f"Use at most {MAX_ADDRESS_LENGTH} characters.")
    local, at, domain = address.rpartition("@")
    domain = domain.lower()
    labels = domain.split(".")
    valid = (
        at
        and 0 < len(local) <= 64
        and set(local) <= LOCAL_CHARACTERS
        and not local.startswith(".")
        and not local.endswith(".")
        and ".." not in local
        and (len(labels) >= 2 or single_label)
        and all(0 < len(label) <= 63 and set(label) <= DOMAIN_CHARACTERS for label in labels)
        and not any(label.startswith("-") or label.endswith("-") for label in labels)
    )
    if not valid:
        raise ValueError("Enter an e-mail address such as name@example.com.")
    return f"{local}@{domain}"


@dataclass(frozen=True)
class SmtpSettings:
    host: str | None
    port: int
    username: str | None
    password: str | None
    starttls: bool
    timeout: float


def smtp_settings(config: Mapping[str, Any]) -> SmtpSettings:
    """The core mail server settings (MAIL_SMTP_*)."""
    return SmtpSettings(
        host=config.get("MAIL_SMTP_HOST"),
        port=config.get("MAIL_SMTP_PORT", 25),
        username=config.get("MAIL_SMTP_USERNAME"),
        password=config.get("MAIL_SMTP_PASSWORD"),
        starttls=bool(config.get("MAIL_SMTP_STARTTLS")),
        timeout=float(config.get("MAIL_SMTP_TIMEOUT_SECONDS", 10.0)),
    )


def send_now(message: EmailMessage, settings: SmtpSettings) -> None:
    """Deliver ``message`` through ``settings`` in this thread (raises on SMTP errors)."""
    with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
        if settings.starttls:
            smtp.starttls()
        if settings.username:
            smtp.login(settings.username, settings.password or "")
        smtp.send_message(message)


class Mailer:
    """One background sender per app and process (started on the first message)."""

    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        self.queue: queue.Queue[EmailMessage] = queue.Queue(maxsize=QUEUE_SIZE)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.sent = 0
        self.failed = 0

    def submit(self, message: EmailMessage) -> bool:
        """Queue ``message`` for sending; False (and a log line) when the queue is full."""
        try:
            self.queue.put_nowait(message)
        except queue.Full:
            log.warning("mail queue full: dropped a message to %s (%s)", message["To"], message["Subject"])
            return False
        self._ensure_thread()
        return True

    def _ensure_thread(self) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, daemon=True, name="portal-mail")
                self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                message = self.queue.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                # Leave when idle. Under the lock, so that a message put meanwhile either is
                # seen here or finds no thread and starts a new one.
                with self._start_lock:
                    if self.queue.empty():
                        self._thread = None
                        return
                continue
            try:
                self._deliver(message)
            finally:
                self.queue.task_done()

    def _deliver(self, message: EmailMessage) -> None:
        if not self.settings.host:
            log.warning("mail (no MAIL_SMTP_HOST set, so written here instead):\n%s", message.as_string())
            self.sent += 1
            return
        try:
            send_now(message, self.settings)
            self.sent += 1
        except (OSError, smtplib.SMTPException) as error:
            self.failed += 1
            log.error("mail to %s failed: %s: %s", message["To"], type(error).__name__, error)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every queued message was handled (tests, shutdown); True when idle."""
        deadline = time.monotonic() + timeout
        while self.queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)
        return not self.queue.unfinished_tasks


def mailer(app: Flask | None = None) -> Mailer:
    return (app or current_app).extensions["portal.mail"]


def check_settings(config: Mapping[str, Any]) -> None:
    """Refuse a sender that is no address, and credentials that would cross the network in
    clear (no STARTTLS to a server other than this machine)."""
    try:
        normalize_address(config["MAIL_FROM"], single_label=True)
    except ValueError as error:
        raise ConfigError(f"MAIL_FROM: {error}") from None
    host = config.get("MAIL_SMTP_HOST")
    if host and config.get("MAIL_SMTP_USERNAME") and not config.get("MAIL_SMTP_STARTTLS"):
        if host.strip("[]").lower() not in LOOPBACK_HOSTS:
            raise ConfigError(
                "MAIL_SMTP_STARTTLS: must be true when MAIL_SMTP_USERNAME is set for a remote SMTP "
                "server (the password would cross the network in clear)"
            )


def init_app(app: Flask) -> None:
    check_settings(app.config)
    app.extensions["portal.mail"] = Mailer(smtp_settings(app.config))
