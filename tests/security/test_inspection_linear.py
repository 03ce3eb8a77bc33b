"""Request inspection costs time linear in what a stranger sends: per signature family, the cost
of each adversarial input at 64 KB against 8 KB, and whole requests against benign ones of the
same size. Ratios of the minimum of interleaved repetitions, never an absolute time; the time is
this thread's CPU time, which another process taking the CPU does not add to."""

from __future__ import annotations

import time
from urllib.parse import quote_plus

import pytest

from app import ConfigError
from plugins.security import inspection, patterns
from tests.conftest import portal
from tests.security.adversarial import ADVERSARIAL, MATCHERS, benign, build
from tests.security.conftest import events

pytestmark = pytest.mark.plugins("security")

# Linear work grows 8x from 8 KB to 64 KB, quadratic 64x: the bound sits between the two, far
# enough from 8 for a noisy shared machine (the minimum of interleaved rounds removes most noise).
LINEAR_BOUND = 22


def cost_ratio(check, small: str, large: str, rounds: int = 9) -> float:
    """Return the cost of ``check(large)`` over that of ``check(small)``: each the minimum over rounds
    that alternate the two, each round a loop of calls long enough to time."""
    loops = [_loops(check, small), _loops(check, large)]
    best = [float("inf"), float("inf")]
    for _ in range(rounds):
        for index, text in enumerate((small, large)):
            start = time.thread_time()
            for _ in range(loops[index]):
                check(text)
            best[index] = min(best[index], (time.thread_time() - start) / loops[index])
    return best[1] / best[0]


def _loops(check, text: str) -> int:
    start = time.thread_time()
    check(text)
    return max(1, int(2e-3 / max(time.thread_time() - start, 1e-7)))


CASES = [(family, head, piece) for family, inputs in ADVERSARIAL.items() for head, piece in inputs]


@pytest.mark.parametrize(("family", "head", "piece"), CASES)
def test_each_family_costs_linear_time_on_its_adversarial_input(family, head, piece):
    check = MATCHERS["re2"][family]
    ratio = cost_ratio(check, build(head, piece, 8192), build(head, piece, 65536))
    assert ratio < LINEAR_BOUND, f"{family} on {head + piece!r}: 64 KB costs {ratio:.1f}x 8 KB"


# What the decoding reads: entities, numeric references, percent escapes, a backslash-quote.
# Measured at 1 and 8 KB, the bound of one value: html.unescape calls Python once per entity,
# and past about 32 KB its cost per byte steps up with the memory it allocates (up to 2.5x).
DECODING = [("decoding", "", piece, 1024) for piece in ("&#1", "&#x", "&a", "&amp;", "%25", "%2", "\\'")]


@pytest.mark.parametrize(
    ("family", "head", "piece", "size"), [(*case, 8192) for case in CASES[::3]] + DECODING
)
def test_the_whole_classification_costs_linear_time(family, head, piece, size):
    """Decoding (URL, HTML entities) and every family together, without the verdict cache."""
    ratio = cost_ratio(patterns._classify, build(head, piece, size), build(head, piece, size * 8))
    assert ratio < LINEAR_BOUND, f"{head + piece!r}: {size * 8} characters cost {ratio:.1f}x {size}"


def test_the_measure_catches_the_old_quadratic_signatures():
    """The same measure on the old Python ``re`` signatures and the issue's quote-and-spaces
    input fails the bound (at 128 and 1,024 characters, to stay quick): the test can fail."""
    check = MATCHERS["python-re"]["sql_injection"]
    ratio = cost_ratio(check, build("'", " ", 128), build("'", " ", 1024), rounds=3)
    assert ratio > LINEAR_BOUND


def _paired_costs(send_a, send_b, rounds: int = 11) -> tuple[float, float]:
    """Time two requests: the minimum of each over rounds that alternate them (after one of
    each, which compiles templates and fills caches)."""
    send_a(), send_b()
    best = [float("inf"), float("inf")]
    for _ in range(rounds):
        for index, send in enumerate((send_a, send_b)):
            start = time.thread_time()
            response = send()
            best[index] = min(best[index], time.thread_time() - start)
            assert response.status_code < 500
    return best[0], best[1]


def _encoded(prefix: str, text: str, size: int) -> str:
    """Form-encode ``prefix`` and ``text``, cut to ``size`` bytes (never inside a %XX)."""
    encoded = (prefix + quote_plus(text))[:size]
    percent = encoded.rfind("%", len(encoded) - 2)
    return encoded[:percent] if percent >= 0 else encoded


# The requests of the issue: (where, crafted value); each against a benign one of the same size.
ATTACKS = {
    "64 KB sign-in body, a quote then spaces": ("form", "'" + " " * 64_980),
    "21,000 '<' in a sign-in field": ("form", "<" * 21_000),
    "4 KB query string, a quote then spaces": ("query", "'" + " " * 4_093),
    "a quote and 6,000 spaces as User-Agent": ("header", "'" + " " * 6_000),
}


@pytest.mark.config(RATE_LIMIT_ENABLED=False)  # every request is then inspected, none refused
@pytest.mark.parametrize("name", list(ATTACKS))
def test_the_issues_requests_cost_what_a_benign_one_of_their_size_costs(client, app, monkeypatch, name):
    location, value = ATTACKS[name]
    inspected: list[str] = []
    classify = inspection.classify
    monkeypatch.setattr(inspection, "classify", lambda text: inspected.append(text) or classify(text))
    prefix = {"form": "password=x&username=", "query": "q="}.get(location, "")
    size = len(prefix + quote_plus(value))
    assert size <= app.config["SECURITY_INSPECT_MAX_BYTES"]  # a body past it is not inspected

    def send(text: str):
        if location == "form":
            body = _encoded(prefix, text, size)
            return client.post("/auth/login", data=body, content_type="application/x-www-form-urlencoded")
        if location == "query":
            return client.get("/auth/login?" + _encoded(prefix, text, size))
        return client.get("/auth/login", headers={"User-Agent": text})

    ordinary = benign(len(value))
    crafted_cost, benign_cost = _paired_costs(lambda: send(value), lambda: send(ordinary))
    # A benign request costs 1-2 ms here, a crafted one on the old signatures 30-400x that.
    assert crafted_cost < 5 * benign_cost, f"{name}: {crafted_cost / benign_cost:.1f}x a benign request"
    longest = max(len(text) for text in inspected if text.startswith(value[:2]))
    assert longest >= min(len(value), app.config["SECURITY_INSPECT_MAX_VALUE_BYTES"])  # it was read
    assert not [e for e in events(app) if e["event_type"] in ("SQL_INJECTION_ATTEMPT", "XSS_ATTEMPT")]


@pytest.mark.config(SECURITY_INSPECT_MAX_VALUE_BYTES=1024)
def test_each_value_is_inspected_up_to_its_own_bound(client, app):
    """Past the per-value bound a value is not read, but one huge field cannot use up the
    request's budget: the field after it is still inspected."""
    padding = "a, " * 400  # 1,200 characters: the payload after it lies past the bound
    client.get("/auth/login", query_string={"late": padding + "<script>alert(1)</script>"})
    assert events(app, event_type="XSS_ATTEMPT") == []
    huge = padding * 60  # 72,000 characters: more than the request's whole budget
    client.get("/auth/login", query_string=[("big", huge), ("q", "<script>alert(1)</script>")])
    (event,) = events(app, event_type="XSS_ATTEMPT")
    assert event["metadata"]["parameter"] == "q"


@pytest.mark.parametrize("value", ["10", "x", "-1"])
def test_a_bad_value_bound_stops_startup_naming_it(tmp_path, value):
    with pytest.raises(ConfigError) as error:
        with portal(tmp_path, PORTAL_PLUGINS="security", SECURITY_INSPECT_MAX_VALUE_BYTES=value):
            pass
    assert str(error.value).startswith("SECURITY_INSPECT_MAX_VALUE_BYTES:")
