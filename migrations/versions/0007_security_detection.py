"""security plugin tables (alerts, detection, IP lists)

Revision ID: 0007_security_detection
Revises: 0006_plans
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_security_detection"
down_revision = "0006_plans"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "security_alert_events",
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("alert_id", "event_id", name=op.f("pk_security_alert_events")),
    )
    with op.batch_alter_table("security_alert_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_security_alert_events_event_id"), ["event_id"], unique=False)

    op.create_table(
        "security_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "severity",
            sa.Enum(
                "LOW",
                "MEDIUM",
                "HIGH",
                "CRITICAL",
                name="security_alert_severity",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("first_occurrence", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_occurrence", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "ACTIVE",
                "INVESTIGATING",
                "RESOLVED",
                "FALSE_POSITIVE",
                name="security_alert_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("assigned_to", sa.String(length=80), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=120), nullable=False),
        sa.Column("open_key", sa.String(length=170), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_alerts")),
        sa.UniqueConstraint("open_key", name=op.f("uq_security_alerts_open_key")),
    )
    with op.batch_alter_table("security_alerts", schema=None) as batch_op:
        batch_op.create_index("ix_security_alerts_rule_subject", ["rule", "subject"], unique=False)
        batch_op.create_index("ix_security_alerts_status_last", ["status", "last_occurrence"], unique=False)

    op.create_table(
        "security_auth_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ip_address", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_auth_failures")),
    )
    with op.batch_alter_table("security_auth_failures", schema=None) as batch_op:
        batch_op.create_index(
            "ix_security_auth_failures_ip_time", ["ip_address", "occurred_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_security_auth_failures_occurred_at"), ["occurred_at"], unique=False
        )
        batch_op.create_index(
            "ix_security_auth_failures_username_time", ["username", "occurred_at"], unique=False
        )

    op.create_table(
        "security_ip_blocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ip_address", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lifted_by", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_ip_blocks")),
    )
    with op.batch_alter_table("security_ip_blocks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_security_ip_blocks_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index("ix_security_ip_blocks_ip_expires", ["ip_address", "expires_at"], unique=False)

    op.create_table(
        "security_ip_lists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_name", sa.String(length=20), nullable=False),
        sa.Column("network", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_ip_lists")),
        sa.UniqueConstraint("list_name", "network", name="uq_security_ip_lists_list_network"),
    )
    with op.batch_alter_table("security_ip_lists", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_security_ip_lists_list_name"), ["list_name"], unique=False)

    op.create_table(
        "security_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=300), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("log", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_notifications")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_security_notifications_idempotency_key")),
    )
    with op.batch_alter_table("security_notifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_security_notifications_alert_id"), ["alert_id"], unique=False)
        batch_op.create_index(
            "ix_security_notifications_status_next", ["status", "next_attempt_at"], unique=False
        )

    op.create_table(
        "security_scan_state",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.Column("last_bucket", sa.Integer(), nullable=False),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_security_scan_state")),
    )
    op.create_table(
        "security_traffic",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("subject", sa.String(length=120), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_traffic")),
        sa.UniqueConstraint("bucket", "kind", "subject", name="uq_security_traffic_bucket_kind_subject"),
    )
    with op.batch_alter_table("security_traffic", schema=None) as batch_op:
        batch_op.create_index(
            "ix_security_traffic_kind_subject_bucket", ["kind", "subject", "bucket"], unique=False
        )

    op.create_table(
        "security_user_ips",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("ip_address", sa.String(length=64), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sign_ins", sa.Integer(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("place", sa.String(length=120), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_user_ips")),
        sa.UniqueConstraint("user_id", "ip_address", name="uq_security_user_ips_user_ip"),
    )
    with op.batch_alter_table("security_user_ips", schema=None) as batch_op:
        batch_op.create_index("ix_security_user_ips_user_last", ["user_id", "last_seen"], unique=False)


def downgrade():
    with op.batch_alter_table("security_user_ips", schema=None) as batch_op:
        batch_op.drop_index("ix_security_user_ips_user_last")

    op.drop_table("security_user_ips")
    with op.batch_alter_table("security_traffic", schema=None) as batch_op:
        batch_op.drop_index("ix_security_traffic_kind_subject_bucket")

    op.drop_table("security_traffic")
    op.drop_table("security_scan_state")
    with op.batch_alter_table("security_notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_security_notifications_status_next")
        batch_op.drop_index(batch_op.f("ix_security_notifications_alert_id"))

    op.drop_table("security_notifications")
    with op.batch_alter_table("security_ip_lists", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_security_ip_lists_list_name"))

    op.drop_table("security_ip_lists")
    with op.batch_alter_table("security_ip_blocks", schema=None) as batch_op:
        batch_op.drop_index("ix_security_ip_blocks_ip_expires")
        batch_op.drop_index(batch_op.f("ix_security_ip_blocks_expires_at"))

    op.drop_table("security_ip_blocks")
    with op.batch_alter_table("security_auth_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_security_auth_failures_username_time")
        batch_op.drop_index(batch_op.f("ix_security_auth_failures_occurred_at"))
        batch_op.drop_index("ix_security_auth_failures_ip_time")

    op.drop_table("security_auth_failures")
    with op.batch_alter_table("security_alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_security_alerts_status_last")
        batch_op.drop_index("ix_security_alerts_rule_subject")

    op.drop_table("security_alerts")
    with op.batch_alter_table("security_alert_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_security_alert_events_event_id"))

    op.drop_table("security_alert_events")
