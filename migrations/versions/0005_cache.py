"""cache plugin tables: cache_entries (the seed's), cache_entry_tags, cache_tag_versions

Revision ID: 0005_cache
Revises: 0004_performance
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_cache"
down_revision = "0004_performance"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "cache_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_accessed", sa.DateTime(timezone=True), nullable=False),
        sa.Column("access_count", sa.Integer(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cache_entries")),
    )
    with op.batch_alter_table("cache_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cache_entries_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_cache_entries_key"), ["key"], unique=True)
        batch_op.create_index(batch_op.f("ix_cache_entries_last_accessed"), ["last_accessed"], unique=False)

    op.create_table(
        "cache_entry_tags",
        sa.Column("tag", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("tag", "key", name=op.f("pk_cache_entry_tags")),
    )
    with op.batch_alter_table("cache_entry_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cache_entry_tags_key"), ["key"], unique=False)

    op.create_table(
        "cache_tag_versions",
        sa.Column("tag", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tag", name=op.f("pk_cache_tag_versions")),
    )


def downgrade():
    op.drop_table("cache_tag_versions")
    with op.batch_alter_table("cache_entry_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cache_entry_tags_key"))
    op.drop_table("cache_entry_tags")
    with op.batch_alter_table("cache_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cache_entries_last_accessed"))
        batch_op.drop_index(batch_op.f("ix_cache_entries_key"))
        batch_op.drop_index(batch_op.f("ix_cache_entries_expires_at"))
    op.drop_table("cache_entries")
