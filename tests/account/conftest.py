"""Account-centre fixtures: a real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it gets."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message

import pytest
from aiosmtpd.controller import Controller


@dataclass
class Inbox:
    """The messages a local SMTP server received; ``gate`` holds the server before it answers
    DATA while cleared (a slow mail server)."""

    messages: list[Message] = field(default_factory=list)
    gate: threading.Event = field(default_factory=threading.Event)
    arrived: threading.Condition = field(default_factory=threading.Condition)
    port: int = 0

    def __post_init__(self):
        self.gate.set()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        import asyncio

        while not self.gate.is_set():  # not gate.wait(): the server's loop must keep running
            await asyncio.sleep(0.02)
        with self.arrived:
            self.messages.append(message_from_bytes(envelope.content))
            self.arrived.notify_all()
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Message]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.messages) >= count, timeout)
        return list(self.messages)

    def to(self, address: str) -> list[Message]:
        return [message for message in self.messages if message["To"] == address]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_inbox() -> Iterator[Inbox]:
    inbox = Inbox()
    inbox.port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        inbox.gate.set()
        controller.stop()


@pytest.fixture
def mail_app(request, tmp_path, smtp_inbox):
    """A portal (markers ``plugins`` and ``config`` as for ``app``) whose mail goes to the test's
    SMTP server. A module takes it as its ``app`` with a fixture ``app(mail_app)``."""
    from app.mail import mailer
    from tests.conftest import portal

    config = {"MAIL_SMTP_HOST": "127.0.0.1", "MAIL_SMTP_PORT": smtp_inbox.port}
    marker = request.node.get_closest_marker("plugins")
    if marker is not None:
        config["PORTAL_PLUGINS"] = ",".join(marker.args)
    for config_marker in reversed(list(request.node.iter_markers("config"))):
        config.update(config_marker.kwargs)
    with portal(tmp_path, **config) as application:
        yield application
        mailer(application).wait_idle()


def body_of(message: Message) -> str:
    return message.get_payload(decode=True).decode()
