"""What the account page's recent activity costs when a user has many old events: the newest 20
of the user's events read with the (user_id, id) index against the same query with that index
dropped (the user_id index alone, as before), side by side in one run on PostgreSQL.

The events of the user come first (a stranger's wrong guesses months ago), everyone else's after:
without the composite index the planner walks the primary key backwards over all of those.

    .venv/bin/python bench/bench_account_activity.py --postgres postgresql://... [--events 450000]
"""

from __future__ import annotations

import argparse
import statistics
import time

import sqlalchemy as sa

TABLE = "bench_account_activity_events"
QUERY = sa.text(f"SELECT id, description FROM {TABLE} WHERE user_id = 1 ORDER BY id DESC LIMIT 20")


def median_ms(connection, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        rows = connection.execute(QUERY).all()
        times.append((time.perf_counter() - started) * 1000)
        assert len(rows) == 20
    return statistics.median(times)


def run(url: str, events: int, own: int, repeats: int) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP TABLE IF EXISTS {TABLE}"))
        connection.execute(
            sa.text(f"CREATE TABLE {TABLE} (id int PRIMARY KEY, user_id int, description text)")
        )
        connection.execute(
            sa.text(
                f"INSERT INTO {TABLE} SELECT g, CASE WHEN g <= :own THEN 1 ELSE 2 + g % 1000 END, 'wrong "
                "password' FROM generate_series(1, :events) g"
            ),
            {"own": own, "events": events},
        )
        connection.execute(sa.text(f"CREATE INDEX {TABLE}_user ON {TABLE} (user_id)"))
        connection.execute(sa.text(f"CREATE INDEX {TABLE}_user_id ON {TABLE} (user_id, id)"))
        connection.execute(sa.text(f"ANALYZE {TABLE}"))
    try:
        with engine.connect() as connection:
            with_index = median_ms(connection, repeats)
            connection.rollback()
            transaction = connection.begin()
            connection.execute(sa.text(f"DROP INDEX {TABLE}_user_id"))
            without_index = median_ms(connection, repeats)
            transaction.rollback()  # the index comes back
        print(f"{events} events, {own} of them the user's (the oldest); median of {repeats} reads:")
        print(f"  (user_id, id) index: {with_index:.3f} ms")
        print(f"  user_id index only:  {without_index:.3f} ms")
        print(f"  ratio: {without_index / with_index:.0f}x")
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text(f"DROP TABLE IF EXISTS {TABLE}"))
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres", required=True, help="a PostgreSQL URL (a scratch table is made and dropped)"
    )
    parser.add_argument("--events", type=int, default=450_000)
    parser.add_argument("--own", type=int, default=50_000, help="how many of the events are the user's")
    parser.add_argument("--repeats", type=int, default=15)
    arguments = parser.parse_args()
    run(arguments.postgres, arguments.events, arguments.own, arguments.repeats)


if __name__ == "__main__":
    main()
