"""mfa plugin: passkeys (auth_mfa_passkeys, one row per WebAuthn credential)

Revision ID: 0015_mfa_passkeys
Revises: 0014_core_account_centre
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_mfa_passkeys"
down_revision = "0014_core_account_centre"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "auth_mfa_passkeys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.LargeBinary(length=1023), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=2048), nullable=False),
        sa.Column("user_handle", sa.LargeBinary(length=64), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("transports", sa.String(length=200), server_default="", nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_auth_mfa_passkeys_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_mfa_passkeys")),
        sa.UniqueConstraint("credential_id", name=op.f("uq_auth_mfa_passkeys_credential_id")),
    )
    with op.batch_alter_table("auth_mfa_passkeys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_mfa_passkeys_user_id"), ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("auth_mfa_passkeys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_mfa_passkeys_user_id"))
    op.drop_table("auth_mfa_passkeys")
