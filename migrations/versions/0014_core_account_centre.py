"""core: account security centre (users.email, user_sessions.last_seen_at, an index of a user's
security events by id for the page's recent activity)

Revision ID: 0014_core_account_centre
Revises: 0009_security_audit_seals

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_core_account_centre'
down_revision = '0009_security_audit_seals'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=True))
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_security_events_user_id_id', 'security_events', ['user_id', 'id'])


def downgrade():
    op.drop_index('ix_security_events_user_id_id', table_name='security_events')
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_column('last_seen_at')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('email')
