"""The packaged migrations create exactly the schema the code declares, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from store.db import current_revision, make_engine, upgrade
from store.schema import metadata


def test_migrated_database_matches_the_declared_schema(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diffs = compare_metadata(ctx, metadata)
    engine.dispose()
    assert diffs == []


def test_upgrade_twice_is_a_noop_and_records_head(db_url: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    assert current_revision(engine) == "0010"  # 0003 -> 0009 -> 0005 -> 0004 -> 0010
    engine.dispose()


def test_float_yuan_amounts_become_integer_fen_by_the_rounding_rule(empty_db_url: str) -> None:
    from sqlalchemy import text

    upgrade(empty_db_url, revision="0003")
    engine = make_engine(empty_db_url)
    with engine.begin() as conn:
        for i, amount in enumerate((331918.14800000004, 0.145, None, 1500.0), start=1):
            conn.execute(
                text(
                    "INSERT INTO entitlements (id, entity_kind, entity_id, policy_id,"
                    " benefit_period, policy_version, outcome, amount, delivery, status,"
                    " first_run_id, last_run_id, created_at, updated_at) VALUES (:i, 'person',"
                    " :e, 'p', 'once', 'v', 'eligible', :a, 'direct', 'new', 'r', 'r',"
                    " '2025-01-01 00:00:00', '2025-01-01 00:00:00')"
                ),
                {"i": i, "e": f"E{i}", "a": amount},
            )
    upgrade(empty_db_url)
    with engine.connect() as conn:
        got = conn.execute(text("SELECT amount_fen FROM entitlements ORDER BY id")).scalars()
        assert list(got) == [33191815, 15, None, 150000]
    engine.dispose()
