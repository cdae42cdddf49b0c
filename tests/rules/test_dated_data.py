"""Dated data: list parameters whose value changes by date, and named sets with editions
(负面清单 2024年本 / 2025年版). Every engine (reference interpreter, polars compiler,
durable_rules event engine) uses the value or edition in force on the as-of date; the checker
refuses unsorted dates, overlapping editions and values of the wrong type where written."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from profiles.catalog import load_catalog
from rules.compile_polars import compile_policies
from rules.errors import PolicyError
from rules.interpret import evaluate_policy
from rules.loader import Library, load_library
from rules.sets import load_sets
from tests.rules.conftest import frame, run_polars

SETS = """\
试点负面清单:
  label: 试点负面清单
  kind: industry_prefix
  editions:
    - {from: 2024-01-01, source: 2024年本, items: ["16", "70"], pending: ["3011"]}
    - {from: 2025-04-24, source: 2025年版, items: ["16"]}
"""

POLICY = """\
id: dated-demo
title: 按批次认定的奖励
entity: enterprise
basis: {document: 测试文号〔2025〕1号}
effective: {from: 2024-01-01}
delivery: notice
parameters:
  recognised_in: {2024-01-01: [2024], 2025-08-23: [2024, 2025]}
eligibility:
  all:
    - {when: year(little_giant_on) in recognised_in, label: 本批次认定}
    - {when: industry_code not in 试点负面清单, label: 不属于负面清单行业}
"""


def write(tmp_path: Path, policy: str = POLICY, sets: str = SETS) -> Path:
    (tmp_path / "sets.yaml").write_text(sets, encoding="utf-8")
    (tmp_path / "dated-demo.yaml").write_text(policy, encoding="utf-8")
    return tmp_path


def outcomes(lib: Library, rows: list[dict[str, Any]], as_of: dt.date) -> list[bool | None]:
    """Truths by the polars compiler, held to the interpreter and the event engine."""
    from matcher.events.engine import EventEngine

    policy = lib["dated-demo"]
    catalog = load_catalog().entity("enterprise")
    compiled = compile_policies([policy], catalog=catalog, sets=lib.sets, as_of=as_of)
    got = [o.truth for o in run_polars(compiled["dated-demo"], frame(rows, catalog))]
    ref = [evaluate_policy(policy, r, catalog=catalog, sets=lib.sets, as_of=as_of,
                           library=lib).truth for r in rows]
    assert got == ref
    words = {True: "eligible", False: None, None: "undetermined"}  # ineligible: no row
    with EventEngine([policy], entity="enterprise", as_of=as_of, sets=lib.sets) as eng:
        events = [next((o["outcome"] for o in eng.upsert(f"e{i}", r)), None)
                  for i, r in enumerate(rows)]
    assert events == [words[t] for t in got]
    return got


ROWS = [
    {"little_giant_on": dt.date(2024, 7, 1), "industry_code": "3911"},   # 2024 batch
    {"little_giant_on": dt.date(2025, 7, 1), "industry_code": "3911"},   # 2025 batch
    {"little_giant_on": dt.date(2024, 7, 1), "industry_code": "7010"},   # 房地产: 2024年本 only
    {"little_giant_on": dt.date(2024, 7, 1), "industry_code": "3011"},   # 待核 in 2024年本
    {"little_giant_on": dt.date(2024, 7, 1), "industry_code": "1620"},   # 烟草: both editions
]


def test_the_value_and_the_edition_in_force_decide(tmp_path: Path) -> None:
    lib = load_library([write(tmp_path)])
    assert outcomes(lib, ROWS, dt.date(2024, 12, 31)) == [True, False, False, None, False]
    # 2025年版 from 2025-04-24: 房地产 left the list, 3011 is no longer 待核
    assert outcomes(lib, ROWS, dt.date(2025, 5, 1)) == [True, False, True, True, False]
    # the 2025 batch is recognised from 2025-08-23, the day before it is not
    assert outcomes(lib, ROWS[:2], dt.date(2025, 8, 22)) == [True, False]
    assert outcomes(lib, ROWS[:2], dt.date(2025, 8, 23)) == [True, True]


def test_before_the_first_date_a_list_parameter_is_unknown(tmp_path: Path) -> None:
    policy = POLICY.replace("{2024-01-01: [2024],", "{2024-06-01: [2024],")
    lib = load_library([write(tmp_path, policy)])
    assert outcomes(lib, ROWS[:1], dt.date(2024, 5, 31)) == [None]
    assert outcomes(lib, ROWS[:1], dt.date(2024, 6, 1)) == [True]


def test_before_the_first_edition_no_list_is_in_force() -> None:
    sets = load_sets_text(SETS)
    assert sets["试点负面清单"].at(dt.date(2023, 12, 31)).contains("1620") is False
    assert sets["试点负面清单"].at(dt.date(2024, 1, 1)).contains("1620") is True


def load_sets_text(text: str, tmp: Path | None = None) -> Any:
    import tempfile

    folder = Path(tempfile.mkdtemp()) if tmp is None else tmp
    (folder / "sets.yaml").write_text(text, encoding="utf-8")
    return load_sets(folder / "sets.yaml")


def problems(tmp_path: Path, *, policy: str = POLICY, sets: str = SETS) -> list[str]:
    with pytest.raises(PolicyError) as err:
        load_library([write(tmp_path, policy, sets)])
    return [str(p) for p in err.value.problems]


def test_unsorted_dates_of_a_parameter_are_located(tmp_path: Path) -> None:
    policy = POLICY.replace("{2024-01-01: [2024], 2025-08-23: [2024, 2025]}",
                            "{2025-08-23: [2024, 2025], 2024-01-01: [2024]}")
    [found] = problems(tmp_path, policy=policy)
    assert "dated-demo.yaml:8:" in found and "unsorted-dates" in found
    assert "期望参数 'recognised_in' 的日期按先后排列且不重复，实际为 2025-08-23 之后的 " \
           "2024-01-01" in found


def test_a_list_mixing_element_types_is_located(tmp_path: Path) -> None:
    policy = POLICY.replace("2025-08-23: [2024, 2025]", """2025-08-23: [2024, '"2025"']""")
    found = problems(tmp_path, policy=policy)
    assert any("dated-demo.yaml:8:" in p and "期望列表中为数值，实际为 文本" in p
               for p in found), found


def test_a_value_of_another_type_on_a_later_date_is_located(tmp_path: Path) -> None:
    policy = POLICY.replace("2025-08-23: [2024, 2025]", "2025-08-23: 2025")
    found = problems(tmp_path, policy=policy)
    assert any("期望参数 'recognised_in' 在各日期的值同为数值列表，实际为 2025-08-23 起的数值"
               in p for p in found), found


def test_an_expression_is_not_a_parameter_value(tmp_path: Path) -> None:
    policy = POLICY.replace("2025-08-23: [2024, 2025]", '2025-08-23: "[2024, employees]"')
    found = problems(tmp_path, policy=policy)
    assert any("为字面值或字面值的列表，实际为 表达式" in p for p in found), found


def test_overlapping_and_unsorted_editions_are_located(tmp_path: Path) -> None:
    overlap = SETS.replace("{from: 2024-01-01,", "{from: 2024-01-01, to: 2025-05-01,")
    [found] = problems(tmp_path, sets=overlap)
    assert "sets.yaml:6:" in found and "bad-edition" in found
    assert "期望各版有效期不重叠，实际为 2025-04-24 起的版本与截至 2025-05-01 的上一版重叠" \
        in found
    unsorted = SETS.replace("from: 2025-04-24", "from: 2023-04-24")
    [found] = problems(tmp_path, sets=unsorted)
    assert "期望各版按 from 日期先后排列，实际为 2024-01-01 之后的 2023-04-24" in found
    impossible = SETS.replace("from: 2025-04-24", "from: 2025-02-30")
    [found] = problems(tmp_path, sets=impossible)
    assert "期望 from 为日期 YYYY-MM-DD" in found and "2025-02-30" in found


TABLE_POLICY = """\
id: dated-table-demo
title: 按年龄段发放的津贴(按日期调整标准)
entity: person
basis: {document: 测试文号〔2025〕2号}
effective: {from: 2016-05-01}
delivery: direct
parameters:
  allowance: {2016-05-01: [[65, 75], [70, 150]], 2026-01-01: [[65, 80], [70, 160]]}
eligibility:
  all:
    - {when: age >= 65, label: 年满65周岁}
amount:
  tiers: {by: age, table: allowance}
  period: month
"""


def test_a_dated_tier_table_pays_the_standard_in_force(tmp_path: Path) -> None:
    from matcher.events.engine import EventEngine

    (tmp_path / "dated-table-demo.yaml").write_text(TABLE_POLICY, encoding="utf-8")
    lib = load_library([tmp_path])
    policy = lib["dated-table-demo"]
    catalog = load_catalog().entity("person")
    rows = [{"age": 64}, {"age": 65}, {"age": 69}, {"age": 70}, {"age": None}]
    for as_of, want in ((dt.date(2025, 12, 31), [None, 75.0, 75.0, 150.0, None]),
                        (dt.date(2026, 1, 1), [None, 80.0, 80.0, 160.0, None])):
        compiled = compile_policies([policy], catalog=catalog, sets=lib.sets, as_of=as_of)
        got = [o.amount for o in run_polars(compiled["dated-table-demo"], frame(rows, catalog))]
        ref = [evaluate_policy(policy, r, catalog=catalog, sets=lib.sets, as_of=as_of,
                               library=lib).amount for r in rows]
        assert got == ref == want, as_of
        born = [{"birth_date": as_of.replace(year=as_of.year - r["age"]), "alive": True}
                for r in rows[:4]]  # the engine derives age from the birth date
        with EventEngine([policy], entity="person", as_of=as_of, sets=lib.sets) as eng:
            fen = [next((o["amount_fen"] for o in eng.upsert(f"p{i}", r)), None)
                   for i, r in enumerate(born)]
        assert fen == [None, *(int(w * 100) for w in want[1:4])]


def test_dated_tier_tables_must_share_their_bands(tmp_path: Path) -> None:
    bad = TABLE_POLICY.replace("[[65, 80], [70, 160]]", "[[65, 80], [75, 160]]")
    (tmp_path / "dated-table-demo.yaml").write_text(bad, encoding="utf-8")
    with pytest.raises(PolicyError) as err:
        load_library([tmp_path])
    [found] = [str(p) for p in err.value.problems]
    assert "dated-table-demo.yaml:13:" in found
    assert "期望参数 'allowance' 各日期的分档起点相同(65, 70)，实际 2026-01-01 起为 65, 75" in found
    unknown = TABLE_POLICY.replace("table: allowance", "table: allowances")
    (tmp_path / "dated-table-demo.yaml").write_text(unknown, encoding="utf-8")
    with pytest.raises(PolicyError) as err:
        load_library([tmp_path])
    assert "是否应为 'allowance'" in str(err.value.problems[0]) or \
        err.value.problems[0].suggestion == "allowance"
