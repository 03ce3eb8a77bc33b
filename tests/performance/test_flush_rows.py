"""The flusher writes raw rows through the driver (``flusher._raw_insert``): what it stores must be
what SQLAlchemy's own ``insert()`` of the same values stores, on SQLite and on PostgreSQL (the
suite's second pass runs this on PostgreSQL)."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select

from app.extensions import db
from app.models import as_utc
from plugins.performance.flusher import RAW_COLUMNS, _raw_insert, _when
from plugins.performance.models import PerformanceMetric

TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
MAYBE_FLOAT = st.none() | st.floats(min_value=0, max_value=1e6, allow_nan=False)
# One Recorder tuple: rule, method, ms, status, user id, ip, user agent, wall time, memory, CPU,
# query count, query time, slow.
RECORD = st.tuples(
    TEXT.filter(bool),
    st.sampled_from(["GET", "POST", "DELETE"]),
    st.floats(min_value=0, max_value=1e7, allow_nan=False),
    st.integers(100, 599),
    st.none() | st.integers(1, 2**31 - 1),
    st.text("0123456789abcdef.:", max_size=45),
    TEXT,
    st.floats(min_value=0, max_value=4e9, allow_nan=False),
    MAYBE_FLOAT,
    MAYBE_FLOAT,
    st.integers(0, 10_000),
    st.floats(min_value=0, max_value=1e6, allow_nan=False),
    st.booleans(),
)


def _stored(conn) -> list[tuple]:
    table = PerformanceMetric.__table__
    columns = [table.c[name] for name in RAW_COLUMNS]
    return [tuple(row) for row in conn.execute(select(*columns).order_by(table.c.id))]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(RECORD, min_size=1, max_size=8))
def test_raw_rows_written_through_the_driver_read_back_as_sqlalchemys_own_insert(app, records):
    table = PerformanceMetric.__table__
    reference = [
        {"endpoint": r[0], "method": r[1], "response_time": r[2], "status_code": r[3], "user_id": r[4],
         "ip_address": r[5], "user_agent": r[6], "timestamp": _when(r[7]), "memory_usage": r[8],
         "cpu_usage": r[9], "db_query_count": r[10], "db_time_ms": r[11], "slow": r[12], "metadata": {}}
        for r in records
    ]  # fmt: skip
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(delete(table))
        conn.execute(insert(table), reference)
        expected = _stored(conn)
        conn.execute(delete(table))
        sql, convert = _raw_insert(conn.dialect)
        conn.exec_driver_sql(sql, [convert(r) for r in records])
        assert _stored(conn) == expected
        conn.execute(delete(table))


def test_a_flushed_request_reads_back_with_its_time_and_empty_metadata(app, client, flush_now):
    before = time.time()
    assert client.get("/perftarget/items/7").status_code == 200
    assert flush_now() == 1
    with app.app_context():
        row = db.session.scalars(select(PerformanceMetric)).one()
    assert (row.endpoint, row.method, row.status_code, row.meta) == (
        "/perftarget/items/<int:item_id>",
        "GET",
        200,
        {},
    )
    assert before - 1 <= as_utc(row.timestamp).timestamp() <= time.time() + 1
