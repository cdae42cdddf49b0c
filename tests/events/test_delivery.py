"""The store path of an event: entitlement changes and the hook's writes commit together,
or not at all."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from matcher.events.delivery import event_run_id, record_outcomes
from matcher.events.engine import EventEngine
from rules.loader import bundled_library
from store.db import make_engine, transaction, upgrade
from store.schema import entitlements

AS_OF = dt.date(2025, 10, 1)


@pytest.fixture()
def db(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    upgrade(engine)
    return engine


def _count(db) -> int:
    with transaction(db) as s:
        return int(s.execute(select(func.count()).select_from(entitlements)).scalar_one())


def test_an_update_writes_new_then_revokes_the_lost_entitlement(db):
    with EventEngine(bundled_library(), entity="enterprise", as_of=AS_OF) as eng:
        policies = eng.compiled.policies
        rows = eng.upsert("E", {"status": "存续", "graduate_hires": 1})
        ch = record_outcomes(db, entity_kind="enterprise", entity_id="E", outcomes=rows,
                             policies=policies, as_of=AS_OF, run_id="event-1")
        assert "graduate-hiring-subsidy" in ch.new["policy_id"].to_list()
        rows = eng.upsert("E", {"status": "注销"})
        ch = record_outcomes(db, entity_kind="enterprise", entity_id="E", outcomes=rows,
                             policies=policies, as_of=AS_OF, run_id="event-2")
        assert "graduate-hiring-subsidy" in ch.revoked["policy_id"].to_list()
        again = record_outcomes(db, entity_kind="enterprise", entity_id="E", outcomes=rows,
                                policies=policies, as_of=AS_OF, run_id="event-3")
        assert again.total == 0


def test_a_failing_hook_rolls_back_the_entitlements(db):
    def hook(session, changes, run_id):
        raise RuntimeError("outbox down")

    with EventEngine(bundled_library(), entity="enterprise", as_of=AS_OF) as eng:
        rows = eng.upsert("E", {"status": "存续", "graduate_hires": 1})
        with pytest.raises(RuntimeError):
            record_outcomes(db, entity_kind="enterprise", entity_id="E", outcomes=rows,
                            policies=eng.compiled.policies, as_of=AS_OF, run_id="event-1",
                            on_changes=hook)
    assert _count(db) == 0


def test_event_run_ids_are_deterministic_and_carry_no_id_number():
    a = event_run_id(entity_kind="person", entity_id="110105193001010013", as_of=AS_OF,
                     sequence=3, payload={"alive": False})
    b = event_run_id(entity_kind="person", entity_id="110105193001010013", as_of=AS_OF,
                     sequence=3, payload={"alive": False})
    assert a == b and "110105193001010013" not in a


def test_an_event_never_revokes_the_benefit_of_an_entity_held_on_a_data_defect(db):
    """As in the nightly run: an entity whose row in a source was quarantined is held, so a
    later event that reads it as losing the benefit withholds the revocation."""
    import polars as pl

    from profiles.catalog import HELD_FIELDS

    with EventEngine(bundled_library(), entity="enterprise", as_of=AS_OF) as eng:
        policies = eng.compiled.policies
        rows = eng.upsert("E", {"status": "存续", "graduate_hires": 1})
        record_outcomes(db, entity_kind="enterprise", entity_id="E", outcomes=rows,
                        policies=policies, as_of=AS_OF, run_id="event-1")
        frame = pl.DataFrame({eng.key: ["E", "F"], "status": ["注销", "注销"],
                              HELD_FIELDS: [["graduate_hires"], None]},
                             schema_overrides={HELD_FIELDS: pl.List(pl.String)})
        eng.load(frame)
        assert eng.held == {"E"}
        rows = eng.upsert("E", {"status": "注销"})
        ch = record_outcomes(db, entity_kind="enterprise", entity_id="E", outcomes=rows,
                             policies=policies, as_of=AS_OF, run_id="event-2",
                             held="E" in eng.held)
        assert ch.revoked.height == 0 and ch.held >= 1
        eng.load(frame.filter(pl.col(eng.key) == "E").with_columns(
            pl.lit(None, dtype=pl.List(pl.String)).alias(HELD_FIELDS)))
        assert eng.held == set()  # a clean extract lifts the hold
        ch = record_outcomes(db, entity_kind="enterprise", entity_id="E",
                             outcomes=eng.upsert("E", {"status": "注销"}), policies=policies,
                             as_of=AS_OF, run_id="event-3", held="E" in eng.held)
        assert "graduate-hiring-subsidy" in ch.revoked["policy_id"].to_list()
