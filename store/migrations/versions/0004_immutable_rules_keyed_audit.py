"""published policy versions immutable, keyed audit chain, token revocation, login limits,
four-eyes retirement

Revision ID: 0004
Revises: 0005
Create Date: 2026-11-24 10:00:00

Guards in the database itself, so that whoever reaches the database with ordinary SQL
cannot rewrite rules or the audit trail:

- ``policy_versions``: rows are inserted as drafts only; once a version leaves ``draft`` its
  text, hash, version, dates, policy and author never change; a published or retired row
  changes only from ``published`` to ``retired``; a version becomes ``published`` only from
  review (``in_review``, or ``scheduled`` after approval), with a reviewer who is not its
  author; only drafts can be deleted.
- ``audit_log``: append-only (no UPDATE, no DELETE, and on PostgreSQL no TRUNCATE).

On SQLite these are triggers on the tables: a later migration that rebuilds one of these
tables (``batch_alter_table``) drops them and must create them again
(``tests/faults/test_rule_tampering.py`` fails when they are missing).

Existing audit entries keep their plain SHA-256 (``scheme = 'sha256'``); new entries are
keyed (HMAC, key outside the database), and the first keyed entry covers the older ones.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0005"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

CONTENT = ("id", "policy_id", "version", "content_hash", "text", "effective_from",
           "effective_to", "author", "created_at")
KEPT_ON_RETIRE = ("reviewer", "submitted_at", "published_at")

MSG_INSERT = "policy versions are inserted as drafts only (publishing needs a review)"
MSG_CONTENT = "a policy version that left draft is immutable (text, hash, dates, author)"
MSG_FINAL = "a published policy version can only be retired, a retired one never changes"
MSG_PUBLISH = ("a policy version is published only from review, by a reviewer who is not "
               "its author")
MSG_DELETE = "only draft policy versions can be deleted"
MSG_AUDIT = "the audit log is append-only"


def _sqlite_differs(columns: tuple[str, ...]) -> str:
    return " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in columns)


def _sqlite_same(columns: tuple[str, ...]) -> str:
    return " AND ".join(f"NEW.{c} IS OLD.{c}" for c in columns)


SQLITE_TRIGGERS = {
    "policy_versions_insert_draft": f"""
        CREATE TRIGGER policy_versions_insert_draft BEFORE INSERT ON policy_versions
        WHEN NEW.status <> 'draft'
        BEGIN SELECT RAISE(ABORT, '{MSG_INSERT}'); END""",
    "policy_versions_content_immutable": f"""
        CREATE TRIGGER policy_versions_content_immutable BEFORE UPDATE ON policy_versions
        WHEN OLD.status <> 'draft' AND ({_sqlite_differs(CONTENT)})
        BEGIN SELECT RAISE(ABORT, '{MSG_CONTENT}'); END""",
    "policy_versions_published_final": f"""
        CREATE TRIGGER policy_versions_published_final BEFORE UPDATE ON policy_versions
        WHEN OLD.status IN ('published', 'retired') AND NOT (
            OLD.status = 'published' AND NEW.status = 'retired' AND NEW.retired_at IS NOT NULL
            AND {_sqlite_same(KEPT_ON_RETIRE)})
        BEGIN SELECT RAISE(ABORT, '{MSG_FINAL}'); END""",
    "policy_versions_publish_reviewed": f"""
        CREATE TRIGGER policy_versions_publish_reviewed BEFORE UPDATE ON policy_versions
        WHEN NEW.status = 'published' AND OLD.status <> 'published' AND (
            OLD.status NOT IN ('in_review', 'scheduled') OR NEW.reviewer IS NULL
            OR NEW.reviewer = OLD.author)
        BEGIN SELECT RAISE(ABORT, '{MSG_PUBLISH}'); END""",
    "policy_versions_delete_draft": f"""
        CREATE TRIGGER policy_versions_delete_draft BEFORE DELETE ON policy_versions
        WHEN OLD.status <> 'draft'
        BEGIN SELECT RAISE(ABORT, '{MSG_DELETE}'); END""",
    "audit_log_no_update": f"""
        CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, '{MSG_AUDIT}'); END""",
    "audit_log_no_delete": f"""
        CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, '{MSG_AUDIT}'); END""",
}


def _pg_differs(columns: tuple[str, ...]) -> str:
    return " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in columns)


def _pg_same(columns: tuple[str, ...]) -> str:
    return " AND ".join(f"NEW.{c} IS NOT DISTINCT FROM OLD.{c}" for c in columns)


PG_FUNCTIONS = {
    "policy_versions_guard": f"""
        CREATE OR REPLACE FUNCTION policy_versions_guard() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'INSERT' THEN
            IF NEW.status <> 'draft' THEN
              RAISE EXCEPTION '{MSG_INSERT}' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NEW;
          END IF;
          IF TG_OP = 'DELETE' THEN
            IF OLD.status <> 'draft' THEN
              RAISE EXCEPTION '{MSG_DELETE}' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN OLD;
          END IF;
          IF OLD.status <> 'draft' AND ({_pg_differs(CONTENT)}) THEN
            RAISE EXCEPTION '{MSG_CONTENT}' USING ERRCODE = 'integrity_constraint_violation';
          END IF;
          IF OLD.status IN ('published', 'retired') AND NOT (
              OLD.status = 'published' AND NEW.status = 'retired'
              AND NEW.retired_at IS NOT NULL AND {_pg_same(KEPT_ON_RETIRE)}) THEN
            RAISE EXCEPTION '{MSG_FINAL}' USING ERRCODE = 'integrity_constraint_violation';
          END IF;
          IF NEW.status = 'published' AND OLD.status <> 'published' AND (
              OLD.status NOT IN ('in_review', 'scheduled') OR NEW.reviewer IS NULL
              OR NEW.reviewer = OLD.author) THEN
            RAISE EXCEPTION '{MSG_PUBLISH}' USING ERRCODE = 'integrity_constraint_violation';
          END IF;
          RETURN NEW;
        END $$""",
    "refuse_change": """
        CREATE OR REPLACE FUNCTION refuse_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION '%% is append-only', TG_TABLE_NAME
            USING ERRCODE = 'integrity_constraint_violation';
        END $$""",
}
PG_TRIGGERS = {
    "policy_versions_guard": """
        CREATE TRIGGER policy_versions_guard BEFORE INSERT OR UPDATE OR DELETE
        ON policy_versions FOR EACH ROW EXECUTE FUNCTION policy_versions_guard()""",
    "policy_versions_no_truncate": """
        CREATE TRIGGER policy_versions_no_truncate BEFORE TRUNCATE ON policy_versions
        FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()""",
    "audit_log_append_only": """
        CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION refuse_change()""",
    "audit_log_no_truncate": """
        CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()""",
}
PG_TRIGGER_TABLES = {
    "policy_versions_guard": "policy_versions",
    "policy_versions_no_truncate": "policy_versions",
    "audit_log_append_only": "audit_log",
    "audit_log_no_truncate": "audit_log",
}


def create_guards(bind: sa.engine.Connection) -> None:
    """The triggers above, on the connection's backend (also used by tests that drop them
    to play a database owner and put them back)."""
    if bind.dialect.name == "postgresql":
        for ddl in PG_FUNCTIONS.values():
            bind.exec_driver_sql(ddl)
        for ddl in PG_TRIGGERS.values():
            bind.exec_driver_sql(ddl)
    else:
        for ddl in SQLITE_TRIGGERS.values():
            bind.exec_driver_sql(ddl)


def drop_guards(bind: sa.engine.Connection) -> None:
    if bind.dialect.name == "postgresql":
        for name, table in PG_TRIGGER_TABLES.items():
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        for name in PG_FUNCTIONS:
            bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS {name}()")
    else:
        for name in SQLITE_TRIGGERS:
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")


def upgrade() -> None:
    op.add_column(
        "audit_log",
        sa.Column("scheme", sa.String(length=16), nullable=False, server_default="sha256"),
    )
    op.create_index(op.f("ix_audit_log_action"), "audit_log", ["action"])
    op.create_table(
        "revoked_tokens",
        sa.Column("token_id", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("token_id", name=op.f("pk_revoked_tokens")),
    )
    op.create_index(op.f("ix_revoked_tokens_expires_at"), "revoked_tokens", ["expires_at"])
    op.create_table(
        "rate_counters",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("bucket", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "bucket", name=op.f("pk_rate_counters")),
    )
    op.create_index(op.f("ix_rate_counters_bucket"), "rate_counters", ["bucket"])
    op.create_table(
        "policy_retirements",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("version_id", BigId, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["version_id"], ["policy_versions.id"],
            name=op.f("fk_policy_retirements_version_id_policy_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_retirements")),
    )
    op.create_index(
        op.f("ix_policy_retirements_version_id_status"), "policy_retirements",
        ["version_id", "status"],
    )
    create_guards(op.get_bind())


def downgrade() -> None:
    drop_guards(op.get_bind())
    op.drop_index(op.f("ix_policy_retirements_version_id_status"),
                  table_name="policy_retirements")
    op.drop_table("policy_retirements")
    op.drop_index(op.f("ix_rate_counters_bucket"), table_name="rate_counters")
    op.drop_table("rate_counters")
    op.drop_index(op.f("ix_revoked_tokens_expires_at"), table_name="revoked_tokens")
    op.drop_table("revoked_tokens")
    op.drop_index(op.f("ix_audit_log_action"), table_name="audit_log")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("scheme")
