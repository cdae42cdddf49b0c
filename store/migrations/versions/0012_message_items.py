"""message items: each item a message tells is stored once, named by a hash of its
content, and messages name their items by it

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 03:30:00

Messages enqueued before this revision keep their items in their own payload and are read as
they are; only messages enqueued after it reference ``message_items``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message_items",
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("policy_id", sa.String(length=100), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("ref", name=op.f("pk_message_items")),
    )


def downgrade() -> None:
    op.drop_table("message_items")
