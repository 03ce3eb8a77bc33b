"""security: MACs over the audit chain head and purge anchor, and the keyed epoch

Revision ID: 0009_security_audit_seals
Revises: 0008_core_sessions

The rows already written keep their hashes: ``keyed_from`` records that they come before the
keyed chain and are checked by the old rule. The head and anchor found here are sealed by the
first event written after the upgrade.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_security_audit_seals'
down_revision = '0008_core_sessions'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('security_audit_chain', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anchor_time', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('anchor_mac', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('keyed_from', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('head_mac', sa.String(length=64), nullable=True))
    op.execute("UPDATE security_audit_chain SET keyed_from = last_id + 1")


def downgrade():
    with op.batch_alter_table('security_audit_chain', schema=None) as batch_op:
        batch_op.drop_column('head_mac')
        batch_op.drop_column('keyed_from')
        batch_op.drop_column('anchor_mac')
        batch_op.drop_column('anchor_time')
