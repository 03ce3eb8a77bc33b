"""The embedded server's start-up line names every socket it listens on."""

import socket

import pytest
from flask import Flask
from waitress.server import create_server

from app.serving import listening_urls


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


def test_one_socket_gives_one_url():
    server = create_server(Flask(__name__), host="127.0.0.1", port=0)
    try:
        assert listening_urls(server) == [f"http://127.0.0.1:{server.effective_port}/"]
    finally:
        server.close()


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_a_name_on_two_addresses_gives_a_url_each():
    # What `--host localhost` makes of a machine whose localhost is 127.0.0.1 and ::1: waitress
    # returns a multi-socket server, which has no single effective port (the start-up line crashed).
    server = create_server(Flask(__name__), listen="127.0.0.1:0 [::1]:0")
    try:
        urls = listening_urls(server)
        assert len(urls) == 2
        assert urls[0].startswith("http://127.0.0.1:") and urls[1].startswith("http://[::1]:")
    finally:
        server.close()
