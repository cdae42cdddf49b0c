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
    # 0003 -> 0009 -> 0005 -> 0004 -> 0010 -> 0011 -> 0012 -> 0013
    assert current_revision(engine) == "0013"
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


def test_existing_entitlements_take_the_kind_their_policy_version_declares(
        empty_db_url: str) -> None:
    from sqlalchemy import text

    upgrade(empty_db_url, revision="0010")
    engine = make_engine(empty_db_url)
    stamp = "2025-01-01 00:00:00"
    deduction = "id: d\namount: {formula: 2000, period: month, kind: deduction}\n"
    with engine.begin() as conn:
        for pid in ("d", "c"):
            conn.execute(text("INSERT INTO policies (id, title, entity, created_at) VALUES "
                              "(:p, :p, 'person', :t)"), {"p": pid, "t": stamp})
        for i, (pid, version, body) in enumerate((("d", "v2", deduction),
                                                  ("d", "v1", "id: d\n"),
                                                  ("c", "v1", "id: c\namount: {kind: cash}\n")),
                                                 start=1):
            conn.execute(text(
                "INSERT INTO policy_versions (id, policy_id, version, content_hash, text, "
                "effective_from, status, author, created_at) VALUES (:i, :p, :v, :h, :x, "
                "'2025-01-01', 'draft', 'a', :t)"),
                {"i": i, "p": pid, "v": version, "h": f"h{i}", "x": body, "t": stamp})
        for i, (pid, version) in enumerate((("d", "v2"), ("d", "v1"), ("c", "v1")), start=1):
            conn.execute(text(
                "INSERT INTO entitlements (id, entity_kind, entity_id, policy_id, benefit_period,"
                " policy_version, outcome, amount_fen, delivery, status, first_run_id,"
                " last_run_id, created_at, updated_at) VALUES (:i, 'person', :e, :p, 'once',"
                " :v, 'eligible', 200000, 'direct', 'new', 'r', 'r', :t, :t)"),
                {"i": i, "e": f"E{i}", "p": pid, "v": version, "t": stamp})
    upgrade(empty_db_url)
    with engine.connect() as conn:
        got = conn.execute(text("SELECT amount_kind FROM entitlements ORDER BY id")).scalars()
        assert list(got) == ["deduction", "cash", "cash"]
    engine.dispose()
