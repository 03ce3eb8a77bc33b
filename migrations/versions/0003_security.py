"""security plugin tables (rate limits, audit log)

Revision ID: 0003_security
Revises: 0002_mfa
"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0003_security"
down_revision = "0002_mfa"
branch_labels = None
depends_on = None


def upgrade():
    # This plugin's tables are added by its own issue; until then the revision has no operation.
    pass


def downgrade():
    pass
