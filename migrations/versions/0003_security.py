"""security plugin tables (rate limits, audit log)

Revision ID: 0003_security
Revises: 0002_mfa
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_security"
down_revision = "0002_mfa"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "security_audit_chain",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("anchor_id", sa.Integer(), nullable=False),
        sa.Column("anchor_hash", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_audit_chain")),
    )

    op.create_table(
        "security_bans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ip_address", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lifted_by", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_bans")),
    )

    with op.batch_alter_table("security_bans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_security_bans_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index("ix_security_bans_ip_expires", ["ip_address", "expires_at"], unique=False)

    op.create_table(
        "security_events",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column(
            "event_type",
            sa.Enum(
                "LOGIN_SUCCESS",
                "LOGIN_FAILURE",
                "LOGOUT",
                "PASSWORD_CHANGE",
                "PASSWORD_RESET",
                "MFA_ENABLED",
                "MFA_DISABLED",
                "MFA_FAILURE",
                "ACCESS_GRANTED",
                "ACCESS_DENIED",
                "PERMISSION_CHANGE",
                "ROLE_CHANGE",
                "DATA_VIEWED",
                "DATA_CREATED",
                "DATA_MODIFIED",
                "DATA_DELETED",
                "DATA_EXPORTED",
                "CONFIGURATION_CHANGE",
                "SYSTEM_ERROR",
                "BACKUP_CREATED",
                "MAINTENANCE_MODE",
                "SUSPICIOUS_ACTIVITY",
                "BRUTE_FORCE_ATTEMPT",
                "SQL_INJECTION_ATTEMPT",
                "XSS_ATTEMPT",
                "CSRF_ATTEMPT",
                "FILE_UPLOAD_ATTEMPT",
                "UNUSUAL_TRAFFIC",
                "GEO_LOCATION_ANOMALY",
                "TOR_EXIT_NODE",
                "VPN_DETECTED",
                name="security_event_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "severity",
            sa.Enum(
                "LOW",
                "MEDIUM",
                "HIGH",
                "CRITICAL",
                name="security_severity",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("ip_address", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=300), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=80), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_events")),
    )

    with op.batch_alter_table("security_events", schema=None) as batch_op:
        batch_op.create_index("ix_security_events_ip_time", ["ip_address", "timestamp"], unique=False)
        batch_op.create_index(batch_op.f("ix_security_events_timestamp"), ["timestamp"], unique=False)
        batch_op.create_index("ix_security_events_type_time", ["event_type", "timestamp"], unique=False)
        batch_op.create_index(batch_op.f("ix_security_events_user_id"), ["user_id"], unique=False)

    op.create_table(
        "security_rate_limits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(length=120), nullable=False),
        sa.Column("endpoint", sa.String(length=120), nullable=False),
        sa.Column("request_count", sa.Integer(), nullable=False),
        sa.Column("first_request", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_request", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_rate_limits")),
        sa.UniqueConstraint("identifier", "endpoint", name="uq_security_rate_limits_identifier_endpoint"),
    )

    with op.batch_alter_table("security_rate_limits", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_security_rate_limits_last_request"), ["last_request"], unique=False
        )


def downgrade():
    with op.batch_alter_table("security_rate_limits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_security_rate_limits_last_request"))

    op.drop_table("security_rate_limits")

    with op.batch_alter_table("security_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_security_events_user_id"))
        batch_op.drop_index("ix_security_events_type_time")
        batch_op.drop_index(batch_op.f("ix_security_events_timestamp"))
        batch_op.drop_index("ix_security_events_ip_time")

    op.drop_table("security_events")

    with op.batch_alter_table("security_bans", schema=None) as batch_op:
        batch_op.drop_index("ix_security_bans_ip_expires")
        batch_op.drop_index(batch_op.f("ix_security_bans_expires_at"))

    op.drop_table("security_bans")

    op.drop_table("security_audit_chain")
