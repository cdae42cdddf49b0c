"""benefit journey: amounts in integer fen, standing confirmations, one-click links,
recipient preferences, webhook subscriptions, message keys, application submission and
decision times

Revision ID: 0005
Revises: 0009
Create Date: 2026-12-01 00:10:00

Existing amounts (float yuan) become integer fen by the store's rounding rule (half away from
zero, float noise below a millionth of a fen ignored; ``store.money.yuan_to_fen``). The rule is
written out here rather than imported: a migration must keep doing what it did when it ran.
"""

from __future__ import annotations

import math

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0009"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fen(yuan: float | None) -> int | None:
    if yuan is None or math.isnan(yuan) or math.isinf(yuan):
        return None
    scaled = math.floor(abs(yuan) * 100.0 + 0.5 + 1e-6)
    return -scaled if yuan < 0 else scaled


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("entitlements") as batch:
        batch.add_column(sa.Column("amount_fen", sa.BigInteger(), nullable=True))
    rows = bind.execute(
        sa.text("SELECT id, amount FROM entitlements WHERE amount IS NOT NULL")
    ).all()
    if rows:
        bind.execute(
            sa.text("UPDATE entitlements SET amount_fen = :fen WHERE id = :id"),
            [{"id": r.id, "fen": _fen(float(r.amount))} for r in rows],
        )
    with op.batch_alter_table("entitlements") as batch:
        batch.drop_column("amount")

    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("submitted_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("decided_at", sa.DateTime(), nullable=True))
        batch.create_index(
            op.f("ix_applications_status_submitted_at"), ["status", "submitted_at"]
        )

    op.create_table(
        "message_keys",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("outbox_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox.id"], name=op.f("fk_message_keys_outbox_id_outbox")
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_message_keys")),
    )
    op.create_table(
        "standing_confirmations",
        sa.Column("entity_kind", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("policy_id", sa.String(length=100), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=True),
        sa.Column("entitlement_id", BigId, nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entitlement_id"], ["entitlements.id"],
            name=op.f("fk_standing_confirmations_entitlement_id_entitlements"),
        ),
        sa.PrimaryKeyConstraint(
            "entity_kind", "entity_id", "policy_id", name=op.f("pk_standing_confirmations")
        ),
    )
    op.create_table(
        "links",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("entitlement_id", BigId, nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["entitlement_id"], ["entitlements.id"],
            name=op.f("fk_links_entitlement_id_entitlements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_links")),
    )
    op.create_index(op.f("ix_links_entitlement_id"), "links", ["entitlement_id"])
    op.create_table(
        "recipient_preferences",
        sa.Column("entity_kind", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=True),
        sa.Column("muted_deliveries", sa.JSON(), nullable=True),
        sa.Column("quiet_start", sa.String(length=5), nullable=True),
        sa.Column("quiet_end", sa.String(length=5), nullable=True),
        sa.Column("email", sa.String(length=200), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("entity_kind", "entity_id", name=op.f("pk_recipient_preferences")),
    )
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("entity_kind", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscriptions")),
    )
    op.create_index(
        op.f("ix_webhook_subscriptions_entity_kind_entity_id"),
        "webhook_subscriptions",
        ["entity_kind", "entity_id"],
    )


def downgrade() -> None:
    op.drop_table("webhook_subscriptions")
    op.drop_table("recipient_preferences")
    op.drop_table("links")
    op.drop_table("standing_confirmations")
    op.drop_table("message_keys")
    with op.batch_alter_table("applications") as batch:
        batch.drop_index(op.f("ix_applications_status_submitted_at"))
        batch.drop_column("decided_at")
        batch.drop_column("submitted_at")
    with op.batch_alter_table("entitlements") as batch:
        batch.add_column(sa.Column("amount", sa.Float(precision=53), nullable=True))
    op.execute("UPDATE entitlements SET amount = amount_fen / 100.0")
    with op.batch_alter_table("entitlements") as batch:
        batch.drop_column("amount_fen")
