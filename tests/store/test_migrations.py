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
    assert current_revision(engine) == "0004"  # 0003 -> 0009 -> 0004: one line
    engine.dispose()
