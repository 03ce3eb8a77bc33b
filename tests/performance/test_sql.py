"""SQL timing: slow statements stored masked, N+1 patterns flagged, the flusher never timed."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from app.extensions import db
from plugins.performance.masking import fingerprint, mask_parameters, mask_statement
from plugins.performance.models import NPlusOnePattern, PerformanceMetric, SlowQuery


def all_of(app, model):
    with app.app_context():
        return db.session.scalars(select(model)).all()


@pytest.mark.config(SLOW_QUERY_THRESHOLD_MS=5.0)
def test_deliberately_slow_statement_is_recorded_with_values_masked(app, client, flush_now):
    client.get("/perftarget/slow-sql")
    client.get("/perftarget/count")  # a fast statement stays out
    flush_now()
    slow = all_of(app, SlowQuery)
    assert len(slow) == 1
    query = slow[0]
    assert query.endpoint == "/perftarget/slow-sql"
    assert query.duration_ms >= 5
    assert "WITH RECURSIVE" in query.statement
    assert "secret-literal" not in query.statement and "300000" not in query.statement
    assert "hunter2" not in query.parameters and query.parameters == "(str,)" or "str" in query.parameters
    assert query.fingerprint == fingerprint(query.statement)


@pytest.mark.config(PERFORMANCE_N_PLUS_ONE_THRESHOLD=10)
def test_repeated_statement_is_flagged_as_n_plus_one(app, client, flush_now):
    client.get("/perftarget/users")
    client.get("/perftarget/users")
    client.get("/perftarget/count")
    flush_now()
    patterns = all_of(app, NPlusOnePattern)
    assert len(patterns) == 1
    pattern = patterns[0]
    assert (pattern.endpoint, pattern.requests, pattern.max_repeats, pattern.total_repeats) == (
        "/perftarget/users",
        2,
        12,
        24,
    )
    assert pattern.statement == "SELECT username FROM users WHERE id = ?"
    rows = {r.endpoint: r.db_query_count for r in all_of(app, PerformanceMetric)}
    assert rows["/perftarget/users"] == 12


@pytest.mark.config(PERFORMANCE_N_PLUS_ONE_THRESHOLD=13)
def test_threshold_is_configurable(app, client, flush_now):
    client.get("/perftarget/users")
    flush_now()
    assert all_of(app, NPlusOnePattern) == []


@pytest.mark.config(SLOW_QUERY_THRESHOLD_MS=0.0)
def test_flusher_writes_are_not_timed_into_request_stats(app, client, flush_now):
    client.get("/perftarget/items/1")
    flush_now()
    client.get("/perftarget/items/2")
    flush_now()
    statements = [q.statement for q in all_of(app, SlowQuery)]
    # Every statement is "slow" at threshold 0, yet none of the flusher's INSERTs shows up.
    assert not any("performance_" in s for s in statements)
    assert all(r.db_query_count == 0 for r in all_of(app, PerformanceMetric))


def test_masking():
    assert mask_statement("SELECT * FROM t WHERE a = 'x''y' AND b = 42 AND c IN (?, ?, ?)") == (
        "SELECT * FROM t WHERE a = ? AND b = ? AND c IN (?...)"
    )
    assert mask_statement("SELECT h01, t2.x FROM t2") == "SELECT h01, t2.x FROM t2"
    assert mask_parameters({"password": "s3cret", "id": 5}) == "{password: str, id: int}"
    assert mask_parameters([("a", None), ("b", 1)], executemany=True) == "2 rows of (str, NULL)"


@given(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30).filter(lambda s: "'" not in s)
)
def test_string_literals_never_survive_masking(secret):
    masked = mask_statement(f"SELECT 1 FROM t WHERE x = '{secret}'")
    assert masked.endswith("x = ?")


@given(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30).filter(
        lambda s: not set(s) & set("'$\\")
    )
)
def test_postgresql_escape_and_dollar_quoted_strings_never_survive_masking(secret):
    for literal in (f"E'{secret}'", f"e'{secret}\\'s'", f"$${secret}$$", f"$body${secret}$body$"):
        masked = mask_statement(f"SELECT 1 FROM t WHERE x = {literal} AND y = $1")
        assert masked == "SELECT ? FROM t WHERE x = ? AND y = ?", literal


def test_identifiers_in_double_quotes_are_kept():
    assert mask_statement('SELECT "user".name FROM "user" WHERE "e" = E\'x\'') == (
        'SELECT "user".name FROM "user" WHERE "e" = ?'
    )
