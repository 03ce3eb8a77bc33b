"""The bare reference for bench/bench_overhead.py: Flask's "Hello, World!" and nothing else,
served by the same gunicorn as the portal (``gunicorn bench.hello_app:app``)."""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello() -> str:
    return "Hello, World!"
