"""performance plugin: raw rows flag their slow requests; a partial index replaces two full ones

The raw table takes a row per request. Its index on the response time took a random-place
insert per row and served one list (the slow requests), and the (endpoint, timestamp) index
served no query. The rows now carry ``slow`` and one partial index holds only those. Rows
stored before flag a response time of at least 1000 ms (the default threshold).

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
    with op.batch_alter_table("performance_metrics", schema=None) as batch_op:
        batch_op.add_column(sa.Column("slow", sa.Boolean(), server_default=sa.false(), nullable=False))
    metrics = sa.table(
        "performance_metrics", sa.column("slow", sa.Boolean()), sa.column("response_time", sa.Float())
    )
    op.execute(metrics.update().where(metrics.c.response_time >= DEFAULT_SLOW_MS).values(slow=True))
    with op.batch_alter_table("performance_metrics", schema=None) as batch_op:
        batch_op.drop_index("ix_performance_metrics_endpoint_timestamp")
        batch_op.drop_index(batch_op.f("ix_performance_metrics_response_time"))
        batch_op.create_index(
            "ix_performance_metrics_slow",
            ["timestamp"],
            unique=False,
            sqlite_where=sa.text("slow = 1"),
            postgresql_where=sa.text("slow"),
        )


def downgrade():
    with op.batch_alter_table("performance_metrics", schema=None) as batch_op:
        batch_op.drop_index("ix_performance_metrics_slow")
        batch_op.create_index(
            batch_op.f("ix_performance_metrics_response_time"), ["response_time"], unique=False
        )
        batch_op.create_index(
            "ix_performance_metrics_endpoint_timestamp", ["endpoint", "timestamp"], unique=False
        )
        batch_op.drop_column("slow")
