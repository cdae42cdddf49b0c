"""policy review decisions with reasons and scheduled publishing; extra user roles

Revision ID: 0009
Revises: 0003
Create Date: 2026-12-01 09:00:00

Only new tables: the policy versions table is left as it is (its consecutive numbers per
policy are computed from the version ids, which never change).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0003"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "policy_reviews",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("version_id", BIG_ID, nullable=False),
        sa.Column("reviewer", sa.String(length=64), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("publish_on", sa.Date(), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["version_id"], ["policy_versions.id"],
                                name=op.f("fk_policy_reviews_version_id_policy_versions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_reviews")),
    )
    op.create_index(op.f("ix_policy_reviews_version_id"), "policy_reviews", ["version_id"])
    op.create_table(
        "user_roles",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_user_roles_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", "role", name=op.f("pk_user_roles")),
    )


def downgrade() -> None:
    op.drop_table("user_roles")
    op.drop_index(op.f("ix_policy_reviews_version_id"), table_name="policy_reviews")
    op.drop_table("policy_reviews")
