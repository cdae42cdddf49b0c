"""entitlement amount kind: what each entitlement's amount is (cash, tax saving, deduction,
in kind), stored by the run that decided it

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 01:50:00

Existing rows take the kind their deciding policy version's text declares (``amount.kind``;
none declared is ``cash``). The reading is written out here rather than imported: a migration
must keep doing what it did when it ran.
"""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _declared_kind(text: str) -> str | None:
    """The ``amount.kind`` a policy text declares, None when none (or not readable)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="safe", pure=True).load(text)
    except YAMLError:
        return None
    amount = data.get("amount") if isinstance(data, Mapping) else None
    kind = amount.get("kind") if isinstance(amount, Mapping) else None
    return str(kind) if kind else None


def upgrade() -> None:
    with op.batch_alter_table("entitlements") as batch:
        batch.add_column(sa.Column("amount_kind", sa.String(length=16), nullable=False,
                                   server_default="cash"))
    bind = op.get_bind()
    versions = bind.execute(sa.text(
        "SELECT policy_id, version, text FROM policy_versions")).fetchall()
    for policy_id, version, text in versions:
        kind = _declared_kind(text)
        if kind is None or kind == "cash":
            continue
        bind.execute(sa.text(
            "UPDATE entitlements SET amount_kind = :kind "
            "WHERE policy_id = :policy_id AND policy_version = :version"),
            {"kind": kind, "policy_id": policy_id, "version": version})


def downgrade() -> None:
    with op.batch_alter_table("entitlements") as batch:
        batch.drop_column("amount_kind")
