"""login credentials and API keys

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 22:05:00

Databases where the web app created these two tables itself before this migration existed
keep them as they are (same columns); the migration only creates what is missing.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "api_accounts" not in existing:
        op.create_table(
            "api_accounts",
            sa.Column("user_id", sa.String(length=64), nullable=False),
            sa.Column("password_hash", sa.String(length=200), nullable=False),
            sa.Column("entity_kind", sa.String(length=20), nullable=True),
            sa.Column("entity_id", sa.String(length=64), nullable=True),
            sa.PrimaryKeyConstraint("user_id", name=op.f("pk_api_accounts")),
        )
    if "api_keys" not in existing:
        op.create_table(
            "api_keys",
            sa.Column("key_hash", sa.String(length=64), nullable=False),
            sa.Column("user_id", sa.String(length=64), nullable=False),
            sa.Column("label", sa.String(length=200), nullable=False),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint("key_hash", name=op.f("pk_api_keys")),
        )


def downgrade() -> None:
    op.drop_table("api_keys")
    op.drop_table("api_accounts")
