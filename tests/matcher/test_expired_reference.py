"""A reference to a policy that is not in effect on the as-of date is FALSE (DESIGN §3: out of
effect means not eligible), in the batch, the reference interpreter and the event engine alike;
it neither crashes nor becomes UNKNOWN."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from matcher.evaluate import match_frame
from matcher.events.engine import EventEngine
from profiles.catalog import load_catalog
from profiles.derive import derive
from profiles.ingest import complete
from rules.interpret import evaluate_policy
from rules.loader import load_library

EXPIRED = """id: old-support
title: 已到期的扶持
entity: enterprise
basis: {document: 示例文件}
effective: {from: 2020-01-01, to: 2024-12-31}
delivery: notice
eligibility:
  all:
    - {when: employees >= 1, label: 有从业人员}
"""
REFERRING = """id: follow-on
title: 以扶持资格为条件的政策
entity: enterprise
basis: {document: 示例文件}
effective: {from: 2020-01-01}
delivery: notice
eligibility:
  any:
    - {when: eligible("old-support"), label: 符合已到期的扶持}
    - {when: status = "注销", label: 已注销}
"""
AS_OF = dt.date(2025, 10, 1)
USCC = "91440101000000011X"


def library(tmp_path: Path):
    (tmp_path / "old.yaml").write_text(EXPIRED, encoding="utf-8")
    (tmp_path / "follow.yaml").write_text(REFERRING, encoding="utf-8")
    return load_library([tmp_path])


def frame() -> pl.DataFrame:
    raw = pl.DataFrame({"uscc": [USCC], "status": ["存续"], "employees": [5]})
    return derive(complete(raw, entity="enterprise"), entity="enterprise", as_of=AS_OF).collect()


def test_batch_decides_a_reference_to_an_expired_policy_false(tmp_path):
    lib = library(tmp_path)
    out = match_frame(frame(), entity="enterprise", policies=lib.policies.values(),
                      as_of=AS_OF, sets=lib.sets)
    assert out.filter(pl.col("policy_id") == "follow-on").height == 0  # ineligible
    before = match_frame(frame(), entity="enterprise", policies=lib.policies.values(),
                         as_of=dt.date(2024, 6, 30), sets=lib.sets)
    assert before.filter(pl.col("policy_id") == "follow-on")["outcome"].to_list() == ["eligible"]


def test_interpreter_decides_a_reference_to_an_expired_policy_false(tmp_path):
    lib = library(tmp_path)
    row = frame().row(0, named=True)
    result = evaluate_policy(lib["follow-on"], row, catalog=load_catalog().entity("enterprise"),
                             sets=lib.sets, as_of=AS_OF, library=lib)
    assert result.truth is False


def test_event_engine_decides_a_reference_to_an_expired_policy_false(tmp_path):
    lib = library(tmp_path)
    with EventEngine(lib, entity="enterprise", as_of=AS_OF) as engine:
        engine.load(pl.DataFrame({"uscc": [USCC], "status": ["存续"], "employees": [5]}))
        assert engine.outcomes().filter(pl.col("policy_id") == "follow-on").height == 0
