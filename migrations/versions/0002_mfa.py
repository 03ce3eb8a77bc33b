"""mfa plugin tables: auth_mfa_secrets (the seed's, secret encrypted) and auth_mfa_backup_codes

Revision ID: 0002_mfa
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_mfa"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "auth_mfa_backup_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=255), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_auth_mfa_backup_codes_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_mfa_backup_codes")),
    )
    with op.batch_alter_table("auth_mfa_backup_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_mfa_backup_codes_user_id"), ["user_id"], unique=False)

    op.create_table(
        "auth_mfa_secrets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("secret_ciphertext", sa.String(length=512), nullable=False),
        sa.Column("is_enabled", sa.Boolean(), nullable=False),
        sa.Column("last_used_step", sa.BigInteger(), nullable=True),
        sa.Column("failed_attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("enabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_auth_mfa_secrets_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_mfa_secrets")),
    )
    with op.batch_alter_table("auth_mfa_secrets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_mfa_secrets_is_enabled"), ["is_enabled"], unique=False)
        batch_op.create_index(batch_op.f("ix_auth_mfa_secrets_user_id"), ["user_id"], unique=True)


def downgrade():
    with op.batch_alter_table("auth_mfa_secrets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_mfa_secrets_user_id"))
        batch_op.drop_index(batch_op.f("ix_auth_mfa_secrets_is_enabled"))

    op.drop_table("auth_mfa_secrets")
    with op.batch_alter_table("auth_mfa_backup_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_mfa_backup_codes_user_id"))

    op.drop_table("auth_mfa_backup_codes")
