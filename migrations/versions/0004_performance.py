"""performance plugin tables: performance_metrics (the seed's), roll-ups, slow queries, N+1
patterns, resource samples and alerts

Revision ID: 0004_performance
Revises: 0003_security
"""

from alembic import op
import sqlalchemy as sa

revision = "0004_performance"
down_revision = "0003_security"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('performance_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('message', sa.String(length=300), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('threshold', sa.Float(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_performance_alerts'))
    )
    with op.batch_alter_table('performance_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_performance_alerts_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_performance_alerts_opened_at'), ['opened_at'], unique=False)

    op.create_table('performance_metrics',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('endpoint', sa.String(length=255), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('response_time', sa.Float(), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('ip_address', sa.String(length=45), nullable=False),
    sa.Column('user_agent', sa.String(length=200), nullable=False),
    sa.Column('metadata', sa.JSON(), nullable=False),
    sa.Column('timestamp', sa.DateTime(timezone=True), nullable=False),
    sa.Column('memory_usage', sa.Float(), nullable=True),
    sa.Column('cpu_usage', sa.Float(), nullable=True),
    sa.Column('db_query_count', sa.Integer(), nullable=False),
    sa.Column('db_time_ms', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_performance_metrics'))
    )
    with op.batch_alter_table('performance_metrics', schema=None) as batch_op:
        batch_op.create_index('ix_performance_metrics_endpoint_timestamp', ['endpoint', 'timestamp'], unique=False)
        batch_op.create_index(batch_op.f('ix_performance_metrics_response_time'), ['response_time'], unique=False)
        batch_op.create_index(batch_op.f('ix_performance_metrics_timestamp'), ['timestamp'], unique=False)

    op.create_table('performance_n_plus_one',
    sa.Column('endpoint', sa.String(length=255), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('fingerprint', sa.String(length=16), nullable=False),
    sa.Column('statement', sa.Text(), nullable=False),
    sa.Column('requests', sa.Integer(), nullable=False),
    sa.Column('max_repeats', sa.Integer(), nullable=False),
    sa.Column('total_repeats', sa.Integer(), nullable=False),
    sa.Column('first_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('endpoint', 'method', 'fingerprint', name=op.f('pk_performance_n_plus_one'))
    )
    with op.batch_alter_table('performance_n_plus_one', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_performance_n_plus_one_last_seen'), ['last_seen'], unique=False)

    op.create_table('performance_resource_samples',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('timestamp', sa.DateTime(timezone=True), nullable=False),
    sa.Column('host', sa.String(length=120), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('cpu_percent', sa.Float(), nullable=False),
    sa.Column('memory_percent', sa.Float(), nullable=False),
    sa.Column('memory_used_mb', sa.Float(), nullable=False),
    sa.Column('disk_percent', sa.Float(), nullable=False),
    sa.Column('process_cpu_percent', sa.Float(), nullable=False),
    sa.Column('process_memory_mb', sa.Float(), nullable=False),
    sa.Column('process_threads', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_performance_resource_samples'))
    )
    with op.batch_alter_table('performance_resource_samples', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_performance_resource_samples_timestamp'), ['timestamp'], unique=False)

    op.create_table('performance_rollups',
    sa.Column('resolution', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.BigInteger(), nullable=False),
    sa.Column('endpoint', sa.String(length=255), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('errors', sa.Integer(), nullable=False),
    sa.Column('client_errors', sa.Integer(), nullable=False),
    sa.Column('total_ms', sa.Float(), nullable=False),
    sa.Column('min_ms', sa.Float(), nullable=False),
    sa.Column('max_ms', sa.Float(), nullable=False),
    sa.Column('satisfied', sa.Integer(), nullable=False),
    sa.Column('tolerating', sa.Integer(), nullable=False),
    sa.Column('db_count', sa.Integer(), nullable=False),
    sa.Column('db_ms', sa.Float(), nullable=False),
    # The fixed latency histogram: 50 bucket counters (see the plugin's histogram module).
    *(sa.Column(f'h{i:02d}', sa.Integer(), nullable=False) for i in range(50)),
    sa.PrimaryKeyConstraint('resolution', 'period_start', 'endpoint', 'method', name=op.f('pk_performance_rollups'))
    )
    with op.batch_alter_table('performance_rollups', schema=None) as batch_op:
        batch_op.create_index('ix_performance_rollups_resolution_period', ['resolution', 'period_start'], unique=False)

    op.create_table('performance_slow_queries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('timestamp', sa.DateTime(timezone=True), nullable=False),
    sa.Column('endpoint', sa.String(length=255), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('statement', sa.Text(), nullable=False),
    sa.Column('fingerprint', sa.String(length=16), nullable=False),
    sa.Column('parameters', sa.Text(), nullable=False),
    sa.Column('duration_ms', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_performance_slow_queries'))
    )
    with op.batch_alter_table('performance_slow_queries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_performance_slow_queries_fingerprint'), ['fingerprint'], unique=False)
        batch_op.create_index(batch_op.f('ix_performance_slow_queries_timestamp'), ['timestamp'], unique=False)


def downgrade():
    with op.batch_alter_table('performance_slow_queries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_performance_slow_queries_timestamp'))
        batch_op.drop_index(batch_op.f('ix_performance_slow_queries_fingerprint'))

    op.drop_table('performance_slow_queries')
    with op.batch_alter_table('performance_rollups', schema=None) as batch_op:
        batch_op.drop_index('ix_performance_rollups_resolution_period')

    op.drop_table('performance_rollups')
    with op.batch_alter_table('performance_resource_samples', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_performance_resource_samples_timestamp'))

    op.drop_table('performance_resource_samples')
    with op.batch_alter_table('performance_n_plus_one', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_performance_n_plus_one_last_seen'))

    op.drop_table('performance_n_plus_one')
    with op.batch_alter_table('performance_metrics', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_performance_metrics_timestamp'))
        batch_op.drop_index(batch_op.f('ix_performance_metrics_response_time'))
        batch_op.drop_index('ix_performance_metrics_endpoint_timestamp')

    op.drop_table('performance_metrics')
    with op.batch_alter_table('performance_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_performance_alerts_opened_at'))
        batch_op.drop_index(batch_op.f('ix_performance_alerts_kind'))

    op.drop_table('performance_alerts')
