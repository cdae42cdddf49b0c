"""What the event worker and `mianshen match` / `explain` start from: a built snapshot is
taken as the nightly run takes it (its held entities stay held: an event never revokes their
benefits, a match decides their affected fields as UNKNOWN); any other table goes through
the ingest's checks."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import typer

from api.cli.events_cmd import event_profiles
from matcher.events.engine import EventEngine
from profiles.build import build_snapshot
from profiles.catalog import HELD_FIELDS
from rules.loader import bundled_library

AS_OF = date(2026, 1, 1)
P1, P2, P3 = "11010519491231002X", "110105194912310038", "110105194912310046"


def _snapshot(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    (src / "person_公安.csv").write_text(
        f"id_number,birth_date,alive\n{P1},1949-12-31,是\n{P2},1949-12-31,是\n"
        f"{P3},1949-12-31,是\n", encoding="utf-8")
    # P2's 残联 row has a bad grade, P3's an unreadable line: both held on 残联's fields
    (src / "person_残联.csv").write_bytes(
        f"id_number,残疾等级,残疾类别\n{P1},2,肢体\n{P2},二级,肢体\n{P3},1,视".encode() + b"\xff\n")
    out = tmp_path / "person.parquet"
    build_snapshot(src, entity="person", as_of=AS_OF, out=out)
    return out


def test_a_built_snapshot_keeps_its_held_entities_in_the_event_engine(tmp_path: Path) -> None:
    frame, read, rejected = event_profiles(_snapshot(tmp_path), entity="person")
    assert (read, rejected) == (3, 0) and HELD_FIELDS in frame.columns
    with EventEngine(bundled_library(), entity="person", as_of=AS_OF) as engine:
        engine.load(frame)
        assert engine.held == {P2, P3}  # their benefits are held, never revoked, on an event
        assert engine.entities == 3


def test_match_and_explain_decide_a_held_entity_on_unknown_fields(tmp_path: Path) -> None:
    import polars as pl
    from typer.testing import CliRunner

    from api.cli import app

    snapshot, out = _snapshot(tmp_path), tmp_path / "outcomes.csv"
    result = CliRunner().invoke(app, ["match", "--entity", "person", "--profiles", str(snapshot),
                                      "--as-of", AS_OF.isoformat(), "--out", str(out)])
    assert result.exit_code == 0, result.output
    said = result.output.replace("\n", "")  # the console wraps long lines
    assert "3 条" in said and "其中 2 个主体因源数据缺陷" in said
    blind = {r["entity_id"]: r for r in pl.read_csv(out).filter(
        pl.col("policy_id") == "blind-free-public-transport").iter_rows(named=True)}
    # P1's 残联 row says 肢体 (not 视力): decided, no row; P2 and P3 are held on 残联's fields
    assert set(blind) == {P2, P3}
    assert all(r["outcome"] == "undetermined" and "disability_grade" in r["unknown_fields"]
               for r in blind.values())
    why = CliRunner().invoke(app, ["explain", "--entity", "person", "--profiles", str(snapshot),
                                   "--id", P2, "--policy", "blind-free-public-transport",
                                   "--as-of", AS_OF.isoformat()])
    assert why.exit_code == 0, why.output
    assert "待确认" in why.output


def test_a_snapshot_of_the_other_entity_is_refused(tmp_path: Path) -> None:
    with pytest.raises(typer.Exit) as exit_info:
        event_profiles(_snapshot(tmp_path), entity="enterprise")
    assert exit_info.value.exit_code == 2


def test_a_plain_table_goes_through_the_ingest_checks(tmp_path: Path) -> None:
    table = tmp_path / "people.csv"
    table.write_text(f"id_number,birth_date\n{P1},1949-12-31\n{P2},1949-13-31\n",
                     encoding="utf-8")
    frame, read, rejected = event_profiles(table, entity="person")
    assert (read, frame.height, rejected) == (2, 1, 1)
    assert HELD_FIELDS not in frame.columns


@pytest.mark.slow
def test_on_a_snapshot_with_held_entities_the_event_engine_decides_as_the_batch(
        tmp_path: Path) -> None:
    """A held entity's list-type fields are UNKNOWN while empty, in both engines: the
    synthesised extracts' bad rows hold some entities, and every outcome, amount and
    unknown-field list of the event engine equals the batch's on the same snapshot."""
    from matcher.evaluate import match_frame
    from profiles.synth import synthesize
    from tests.events.test_differential import assert_same_outcomes

    as_of = date(2025, 10, 1)
    synthesize(tmp_path / "src", enterprises=300, persons=0, seed=3, bad_rows=30)
    out = tmp_path / "enterprise.parquet"
    build_snapshot(tmp_path / "src", entity="enterprise", as_of=as_of, out=out)
    frame, _, _ = event_profiles(out, entity="enterprise")
    library = bundled_library()
    policies = [p for p in library.policies.values()
                if p.entity == "enterprise" and p.trigger is None]
    batch = match_frame(frame, entity="enterprise", policies=policies, as_of=as_of,
                        sets=library.sets)
    with EventEngine(library, entity="enterprise", as_of=as_of) as engine:
        engine.load(frame)
        assert len(engine.held) > 10
        decided = engine.outcomes()
    ids = {p.id for p in policies}
    assert_same_outcomes(decided.filter(decided["policy_id"].is_in(ids)), batch)
