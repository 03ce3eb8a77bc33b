"""performance plugin tables

Revision ID: 0004_performance
Revises: 0003_security
"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0004_performance"
down_revision = "0003_security"
branch_labels = None
depends_on = None


def upgrade():
    # This plugin's tables are added by its own issue; until then the revision has no operation.
    pass


def downgrade():
    pass
