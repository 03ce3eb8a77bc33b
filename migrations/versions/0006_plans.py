"""plans plugin tables

Revision ID: 0006_plans
Revises: 0005_cache
"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0006_plans"
down_revision = "0005_cache"
branch_labels = None
depends_on = None


def upgrade():
    # This plugin's tables are added by its own issue; until then the revision has no operation.
    pass


def downgrade():
    pass
