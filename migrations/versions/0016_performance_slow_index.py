"""performance plugin: raw rows flag their slow requests; a partial index replaces two full ones

The raw table takes a row per request. Its index on the response time took a random-place
insert per row and served one list (the slow requests), and the (endpoint, timestamp) index
served no query. The rows now carry ``slow`` and one partial index holds only those. Rows
stored before flag a response time of at least 1000 ms (the default threshold; a portal that
configured another PERFORMANCE_SLOW_REQUEST_MS lists its older rows by that default).

Revision ID: 0016_performance_slow_index
Revises: 0015_mfa_passkeys
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_performance_slow_index"
down_revision = "0015_mfa_passkeys"
branch_labels = None
depends_on = None

DEFAULT_SLOW_MS = 1000.0


def upgrade():
    # Plain ALTER TABLE, not batch mode: SQLite adds a NOT NULL column with a constant default in
    # place, where batch mode would copy the whole table (a row per request) under its lock.
    op.add_column(
        "performance_metrics", sa.Column("slow", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    metrics = sa.table("performance_metrics", sa.column("slow", sa.Boolean()), sa.column("response_time", sa.Float()))
    op.execute(metrics.update().where(metrics.c.response_time >= DEFAULT_SLOW_MS).values(slow=True))
    op.drop_index("ix_performance_metrics_endpoint_timestamp", table_name="performance_metrics")
    op.drop_index("ix_performance_metrics_response_time", table_name="performance_metrics")
    op.create_index(
        "ix_performance_metrics_slow",
        "performance_metrics",
        ["timestamp"],
        unique=False,
        sqlite_where=sa.text("slow = 1"),
        postgresql_where=sa.text("slow"),
    )


def downgrade():
    op.drop_index("ix_performance_metrics_slow", table_name="performance_metrics")
    op.create_index("ix_performance_metrics_response_time", "performance_metrics", ["response_time"], unique=False)
    op.create_index(
        "ix_performance_metrics_endpoint_timestamp", "performance_metrics", ["endpoint", "timestamp"], unique=False
    )
    with op.batch_alter_table("performance_metrics", schema=None) as batch_op:  # SQLite drops a column by copying
        batch_op.drop_column("slow")
