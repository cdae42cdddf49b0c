"""audit chain head

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 20:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_head",
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_audit_head")),
    )
    # Existing chains: the head is their newest entry.
    op.execute(
        "INSERT INTO audit_head (name, seq, hash) "
        "SELECT 'main', seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"
    )


def downgrade() -> None:
    op.drop_table("audit_head")
