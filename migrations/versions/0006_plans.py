"""plans plugin tables: plans (Medicare plans) and policies (a client's policies)

Revision ID: 0006_plans
Revises: 0005_cache
"""

from alembic import op
import sqlalchemy as sa

revision = "0006_plans"
down_revision = "0005_cache"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("carrier", sa.String(length=80), nullable=False),
        sa.Column("plan_type", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=2), nullable=False),
        sa.Column("county", sa.String(length=80), nullable=False),
        sa.Column("monthly_premium", sa.Numeric(precision=8, scale=2), nullable=False),
        sa.Column("deductible", sa.Numeric(precision=9, scale=2), nullable=False),
        sa.Column("max_out_of_pocket", sa.Numeric(precision=9, scale=2), nullable=True),
        sa.Column("star_rating", sa.Numeric(precision=2, scale=1), nullable=True),
        sa.Column("benefits", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "plan_type in ('HMO', 'PPO', 'PDP', 'Medigap')", name=op.f("ck_plans_plan_type_valid")
        ),
        sa.CheckConstraint(
            "star_rating is null or (star_rating >= 1 and star_rating <= 5)",
            name=op.f("ck_plans_stars_range"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
        sa.UniqueConstraint("plan_code", name=op.f("uq_plans_plan_code")),
    )
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plans_carrier"), ["carrier"], unique=False)
        batch_op.create_index(batch_op.f("ix_plans_monthly_premium"), ["monthly_premium"], unique=False)
        batch_op.create_index(batch_op.f("ix_plans_plan_type"), ["plan_type"], unique=False)
        batch_op.create_index(batch_op.f("ix_plans_star_rating"), ["star_rating"], unique=False)
        batch_op.create_index(
            "ix_plans_state_county_premium", ["state", "county", "monthly_premium"], unique=False
        )

    op.create_table(
        "policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("policy_number", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("monthly_premium", sa.Numeric(precision=8, scale=2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status in ('pending', 'active', 'cancelled', 'expired')",
            name=op.f("ck_policies_status_valid"),
        ),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name=op.f("fk_policies_plan_id_plans")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_policies_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policies")),
        sa.UniqueConstraint("policy_number", name=op.f("uq_policies_policy_number")),
    )
    with op.batch_alter_table("policies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_policies_plan_id"), ["plan_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_policies_user_id"), ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("policies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_policies_user_id"))
        batch_op.drop_index(batch_op.f("ix_policies_plan_id"))
    op.drop_table("policies")
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.drop_index("ix_plans_state_county_premium")
        batch_op.drop_index(batch_op.f("ix_plans_star_rating"))
        batch_op.drop_index(batch_op.f("ix_plans_plan_type"))
        batch_op.drop_index(batch_op.f("ix_plans_monthly_premium"))
        batch_op.drop_index(batch_op.f("ix_plans_carrier"))
    op.drop_table("plans")
