"""mfa plugin tables

Revision ID: 0002_mfa
Revises: 0001_core
"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0002_mfa"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade():
    # This plugin's tables are added by its own issue; until then the revision has no operation.
    pass


def downgrade():
    pass
