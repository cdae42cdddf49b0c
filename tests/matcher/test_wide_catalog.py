"""Unknown-field lists have no ceiling on the catalog's size: with 150 enterprise fields and a
policy reading 70 of them, every engine (the batch's decoded and lean outputs, a run's
partition-by-partition decoding, explanations, the event engine) names exactly the fields
whose UNKNOWN left each row undetermined, in catalog order."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import matcher.events.compiler as compiler
import profiles.catalog as catalog_module
from api.cli import app
from matcher.evaluate import make_plan, match_frame, match_lean
from matcher.events.compiler import FactTooWideError
from matcher.events.engine import EventEngine
from matcher.explain import explain_many
from matcher.lean import decode
from matcher.partitioned import outcomes_part, read_lean
from profiles.catalog import Field, load_catalog
from profiles.derive import derive
from profiles.ingest import complete
from rules.loader import bundled_library, load_library

AS_OF = dt.date(2025, 10, 1)
WIDE = 150  # fields of the enterprise catalog in this test
READ = 70  # fields the policy reads: more than one 64-bit word


def _extra_names() -> list[str]:
    bundled = len(load_catalog().entity("enterprise").fields)
    return [f"tag_{i:03d}" for i in range(max(WIDE - bundled, READ + 10))]


@pytest.fixture
def wide_catalog(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The bundled catalog with enough extra integer enterprise fields to hold ``WIDE``; the
    policy reads the last ``READ`` of them, whose catalog positions are all past 64."""
    bundled = load_catalog()
    names = _extra_names()
    ent = bundled.entity("enterprise")
    extra = tuple(Field(name=n, label=f"测试标签{n[-3:]}", type="int", entity="enterprise",
                        source="测试") for n in names)
    wide = dataclasses.replace(ent, fields=(*ent.fields, *extra))
    catalog = dataclasses.replace(bundled, entities={**bundled.entities, "enterprise": wide})
    assert len(wide.fields) >= WIDE
    monkeypatch.setattr(catalog_module, "parse_catalog", lambda data: catalog)
    load_catalog.cache_clear()
    try:
        yield names[-READ:]
    finally:
        monkeypatch.undo()
        load_catalog.cache_clear()


def _library(tmp_path: Path, read: list[str]):
    conditions = "\n".join(f"    - {{when: {n} >= 1, label: 标签{n[-3:]}达标}}" for n in read)
    (tmp_path / "wide.yaml").write_text(
        "id: wide-policy\ntitle: 读取七十个标签的政策\nentity: enterprise\n"
        "basis: {document: 示例文件}\neffective: {from: 2020-01-01}\ndelivery: notice\n"
        f"eligibility:\n  all:\n{conditions}\n", encoding="utf-8")
    return load_library([tmp_path])


def _rows(read: list[str]) -> tuple[pl.DataFrame, dict[str, list[str]]]:
    """Profiles with different fields unknown, and the unknown fields each must report."""
    unknown = {
        "E0": [read[0]],  # the first word
        "E1": [read[-1]],  # the second word only
        "E2": [read[3], read[40], read[-6], read[-1]],  # both words
        "E3": list(read),  # everything
        "E4": [],  # all known: eligible
    }
    raw = []
    for uscc, nulls in unknown.items():
        raw.append({"uscc": uscc, "status": "存续",
                    **{n: (None if n in nulls else 5) for n in read}})
    raw.append({"uscc": "E5", "status": "存续",  # a known failing value decides it: ineligible
                **{n: (0 if n == read[10] else None) for n in read}})
    base = complete(pl.DataFrame(raw, infer_schema_length=None), entity="enterprise")
    return derive(base, entity="enterprise", as_of=AS_OF).collect(), unknown


def _expected(unknown: dict[str, list[str]]) -> dict[str, list[str]]:
    order = [f.name for f in load_catalog().entity("enterprise").fields]
    return {e: sorted(names, key=order.index) for e, names in unknown.items()}


def test_batch_lists_unknown_fields_past_64_in_a_wide_catalog(wide_catalog, tmp_path):
    lib = _library(tmp_path, wide_catalog)
    frame, unknown = _rows(wide_catalog)
    out = match_frame(frame, entity="enterprise", policies=lib.policies.values(),
                      as_of=AS_OF, sets=lib.sets)
    got = {r["entity_id"]: (r["outcome"], r["unknown_fields"])
           for r in out.iter_rows(named=True)}
    want = {e: ("undetermined" if names else "eligible", names)
            for e, names in _expected(unknown).items()}
    assert got == want  # E5 is ineligible, so not listed


def test_lean_output_decodes_to_the_same_lists_slice_by_slice(wide_catalog, tmp_path):
    lib = _library(tmp_path, wide_catalog)
    frame, unknown = _rows(wide_catalog)
    plan = make_plan(lib.policies.values(), entity="enterprise", as_of=AS_OF, sets=lib.sets)
    lean = match_lean(frame, plan)
    expected = _expected(unknown)
    for i in range(lean.height):  # one row at a time, as a run decodes what it writes
        row = decode(lean, lean.frame.slice(i, 1)).row(0, named=True)
        assert row["unknown_fields"] == expected[row["entity_id"]]


def test_explanations_list_unknown_fields_past_64(wide_catalog, tmp_path):
    lib = _library(tmp_path, wide_catalog)
    frame, unknown = _rows(wide_catalog)
    found = explain_many(frame, entity="enterprise", policies=lib.policies.values(),
                         as_of=AS_OF, entity_ids=list(unknown), sets=lib.sets)
    expected = _expected(unknown)
    for eid, names in expected.items():
        (e,) = found[eid]
        assert list(e.unknown_fields) == names
        assert e.outcome == ("undetermined" if names else "eligible")


def test_event_engine_lists_unknown_fields_past_64(wide_catalog, tmp_path):
    """Seventy conditions passing side by side on one fact: more than durable_rules evaluates
    under one node (its stack holds 64), so the rules hang from the guard in groups."""
    lib = _library(tmp_path, wide_catalog)
    frame, unknown = _rows(wide_catalog)
    raw = frame.select("uscc", "status", *wide_catalog)
    with EventEngine(lib, entity="enterprise", as_of=AS_OF) as engine:
        engine.load(raw)
        got = {r["entity_id"]: r["unknown_fields"] for r in engine.outcomes()
               .filter(pl.col("policy_id") == "wide-policy").iter_rows(named=True)}
    assert got == _expected(unknown)


def test_a_partitioned_run_reads_back_every_mask_word(wide_catalog, tmp_path):
    """A run writes each partition's lean outcomes to Parquet and decodes them later: the
    second mask word travels with the first."""

    lib = _library(tmp_path, wide_catalog)
    frame, unknown = _rows(wide_catalog)
    plan = make_plan(lib.policies.values(), entity="enterprise", as_of=AS_OF, sets=lib.sets)
    lean = match_lean(frame, plan, budgets=False)
    assert lean.facts.words == 2 and "unknown_1" in lean.frame.columns
    target = str(tmp_path / "outcomes")
    Path(outcomes_part(target, 0)).parent.mkdir(parents=True, exist_ok=True)
    lean.frame.write_parquet(outcomes_part(target, 0))
    back = read_lean(target, 0, lean.facts)
    decoded = decode(dataclasses.replace(lean, frame=back))
    got = dict(decoded.select("entity_id", "unknown_fields").iter_rows())
    assert got == _expected(unknown)


def test_the_bundled_library_needs_one_mask_word_per_row():
    """The mask is local to each policy: a run of the bundled library keeps one UInt64 per
    listed pair, however many fields the catalog holds."""
    lib = bundled_library()
    for entity in ("enterprise", "person"):
        plan = make_plan(lib.policies.values(), entity=entity, as_of=AS_OF, sets=lib.sets)
        assert plan.mask_words == 1
        assert max(len(f) for f in plan.mask_fields.values()) <= 64


def test_a_fact_wider_than_the_event_engine_holds_is_refused_when_compiled(
        wide_catalog, tmp_path, monkeypatch):
    """durable_rules refuses a fact of 253 keys or more with a bare error code; the engine
    refuses such a plan up front, saying what it needs."""

    lib = _library(tmp_path, wide_catalog)
    monkeypatch.setattr(compiler, "FACT_KEYS", 60)  # the 70 fields do not fit in 60 keys
    # the leaf questions (asked only of UNKNOWN policies) have rule groups of their own
    with pytest.raises(FactTooWideError, match=r"至多容纳 60 个键.*需要 78 个（字段 70.*规则组 6"):
        EventEngine(lib, entity="enterprise", as_of=AS_OF)


def test_events_replay_says_why_it_cannot_hold_a_too_wide_library(
        wide_catalog, tmp_path, monkeypatch):

    policies = tmp_path / "policies"
    policies.mkdir()
    _library(policies, wide_catalog)
    profiles = tmp_path / "profiles.csv"
    pl.DataFrame({"uscc": ["91440101000000011X"], "status": ["存续"]}).write_csv(profiles)
    events = tmp_path / "events.jsonl"
    events.write_text("", encoding="utf-8")
    monkeypatch.setattr(compiler, "FACT_KEYS", 60)
    result = CliRunner().invoke(app, [
        "events", "replay", "--entity", "enterprise", "--profiles", str(profiles),
        "--events", str(events), "--as-of", AS_OF.isoformat(), "--out",
        str(tmp_path / "out.csv"), "--policies", str(policies)])
    assert result.exit_code == 2
    assert "至多容纳 60 个键" in result.output and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
