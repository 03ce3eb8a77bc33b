"""cache plugin tables

Revision ID: 0005_cache
Revises: 0004_performance
"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0005_cache"
down_revision = "0004_performance"
branch_labels = None
depends_on = None


def upgrade():
    # This plugin's tables are added by its own issue; until then the revision has no operation.
    pass


def downgrade():
    pass
