"""award ledger: imported awards and the dates from which the ledger is complete

Revision ID: 0010
Revises: 0004
Create Date: 2026-12-01 03:30:00

Only new tables. The system's own grants are not copied here: they are its confirmed and
paid entitlements, read together with these rows (store.awards).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0004"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "awards",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("entity_kind", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("policy_id", sa.String(length=100), nullable=False),
        sa.Column("benefit_period", sa.String(length=10), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("granted_on", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("imported_by", sa.String(length=64), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_awards")),
        sa.UniqueConstraint("entity_kind", "policy_id", "benefit_period", "entity_id",
                            name="uq_awards_key"),
    )
    op.create_index(op.f("ix_awards_entity_kind_policy_id"), "awards",
                    ["entity_kind", "policy_id"])
    op.create_table(
        "award_coverage",
        sa.Column("entity_kind", sa.String(length=20), nullable=False),
        sa.Column("policy_id", sa.String(length=100), nullable=False),
        sa.Column("complete_from", sa.Date(), nullable=False),
        sa.Column("declared_by", sa.String(length=64), nullable=False),
        sa.Column("declared_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("entity_kind", "policy_id", name=op.f("pk_award_coverage")),
    )


def downgrade() -> None:
    op.drop_table("award_coverage")
    op.drop_index(op.f("ix_awards_entity_kind_policy_id"), table_name="awards")
    op.drop_table("awards")
