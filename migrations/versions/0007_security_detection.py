"""security plugin tables (alerts, detection, IP lists)

Revision ID: 0007_security_detection
Revises: 0006_plans
"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = "0007_security_detection"
down_revision = "0006_plans"
branch_labels = None
depends_on = None


def upgrade():
    # This plugin's tables are added by its own issue; until then the revision has no operation.
    pass


def downgrade():
    pass
