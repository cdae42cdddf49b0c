"""中小企业划型 against an independent reading of the 300号 table (policies reference §2).

The table below is copied as text from the reference and evaluated by a small three-valued
interpreter written here, so the production expression is checked against the document, not
against itself: at every threshold (equal, and one unit below), with unknown inputs too.
"""

from __future__ import annotations

import itertools

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from profiles.possible import members
from profiles.sizeclass import SIZE_CLASSES, industry_expr, with_size_class

# industry, a 4-digit code of that row, sme_if, medium, small, micro (Y, Z in 万元)
TABLE = [
    ("农林牧渔", "0141", "Y < 20000", "Y >= 500", "Y >= 50", "Y < 50"),
    (
        "工业",
        "3911",
        "X < 1000 or Y < 40000",
        "X >= 300 and Y >= 2000",
        "X >= 20 and Y >= 300",
        "X < 20 or Y < 300",
    ),
    (
        "建筑业",
        "4790",
        "Y < 80000 or Z < 80000",
        "Y >= 6000 and Z >= 5000",
        "Y >= 300 and Z >= 300",
        "Y < 300 or Z < 300",
    ),
    (
        "批发业",
        "5137",
        "X < 200 or Y < 40000",
        "X >= 20 and Y >= 5000",
        "X >= 5 and Y >= 1000",
        "X < 5 or Y < 1000",
    ),
    (
        "零售业",
        "5261",
        "X < 300 or Y < 20000",
        "X >= 50 and Y >= 500",
        "X >= 10 and Y >= 100",
        "X < 10 or Y < 100",
    ),
    (
        "交通运输业",
        "5430",
        "X < 1000 or Y < 30000",
        "X >= 300 and Y >= 3000",
        "X >= 20 and Y >= 200",
        "X < 20 or Y < 200",
    ),
    (
        "仓储业",
        "5990",
        "X < 200 or Y < 30000",
        "X >= 100 and Y >= 1000",
        "X >= 20 and Y >= 100",
        "X < 20 or Y < 100",
    ),
    (
        "邮政业",
        "6020",
        "X < 1000 or Y < 30000",
        "X >= 300 and Y >= 2000",
        "X >= 20 and Y >= 100",
        "X < 20 or Y < 100",
    ),
    (
        "住宿业",
        "6110",
        "X < 300 or Y < 10000",
        "X >= 100 and Y >= 2000",
        "X >= 10 and Y >= 100",
        "X < 10 or Y < 100",
    ),
    (
        "餐饮业",
        "6210",
        "X < 300 or Y < 10000",
        "X >= 100 and Y >= 2000",
        "X >= 10 and Y >= 100",
        "X < 10 or Y < 100",
    ),
    (
        "信息传输业",
        "6432",
        "X < 2000 or Y < 100000",
        "X >= 100 and Y >= 1000",
        "X >= 10 and Y >= 100",
        "X < 10 or Y < 100",
    ),
    (
        "软件和信息技术服务业",
        "6513",
        "X < 300 or Y < 10000",
        "X >= 100 and Y >= 1000",
        "X >= 10 and Y >= 50",
        "X < 10 or Y < 50",
    ),
    (
        "房地产开发经营",
        "7010",
        "Y < 200000 or Z < 10000",
        "Y >= 1000 and Z >= 5000",
        "Y >= 100 and Z >= 2000",
        "Y < 100 or Z < 2000",
    ),
    (
        "物业管理",
        "7020",
        "X < 1000 or Y < 5000",
        "X >= 300 and Y >= 1000",
        "X >= 100 and Y >= 500",
        "X < 100 or Y < 500",
    ),
    (
        "租赁和商务服务业",
        "7212",
        "X < 300 or Z < 120000",
        "X >= 100 and Z >= 8000",
        "X >= 10 and Z >= 100",
        "X < 10 or Z < 100",
    ),
    ("其他未列明行业", "7320", "X < 300", "X >= 100", "X >= 10", "X < 10"),
]

Values = dict[str, float | None]


def _atom(text: str, values: Values) -> bool | None:
    name, op, number = text.split()
    v = values[name]
    if v is None:
        return None
    limit = float(number) * (1 if name == "X" else 10_000)  # 万元 -> yuan
    return v < limit if op == "<" else v >= limit


def _kleene(text: str, values: Values) -> bool | None:
    """Evaluate 'a or b' / 'a and b' with Kleene logic."""
    if " or " in text:
        parts = [_atom(p, values) for p in text.split(" or ")]
        return True if True in parts else None if None in parts else False
    parts = [_atom(p, values) for p in text.split(" and ")]
    return False if False in parts else None if None in parts else True


def reference_class(row: tuple[str, ...], values: Values) -> str | None:
    _, _, sme_if, medium, small, micro = row
    sme, med, sml, mic = (_kleene(t, values) for t in (sme_if, medium, small, micro))
    if sme is False:
        return "大型"
    if sme is True and med is True:
        return "中型"
    if sme is True and med is False and sml is True:
        return "小型"
    if mic is True:
        return "微型"
    return None


def classify(code: str | None, points: list[Values]) -> list[str | None]:
    frame = pl.DataFrame(
        {
            "industry_code": [code] * len(points),
            "employees": [None if p["X"] is None else int(p["X"]) for p in points],
            "operating_revenue": [p["Y"] for p in points],
            "total_assets": [p["Z"] for p in points],
        },
        schema={
            "industry_code": pl.String,
            "employees": pl.Int64,
            "operating_revenue": pl.Float64,
            "total_assets": pl.Float64,
        },
    )
    return with_size_class(frame).collect()["size_class"].to_list()


def _thresholds(row: tuple[str, ...]) -> dict[str, set[float]]:
    """Every threshold of the row per indicator, in the data's units (persons, yuan)."""
    out: dict[str, set[float]] = {"X": set(), "Y": set(), "Z": set()}
    for cond in row[2:]:
        for atom in cond.replace(" and ", " or ").split(" or "):
            name, _, number = atom.split()
            out[name].add(float(number) * (1 if name == "X" else 10_000))
    return out


def _boundary_values(row: tuple[str, ...]) -> dict[str, list[float | None]]:
    """Each threshold at equality and one unit below (1 person, 1 yuan), plus 0 and unknown."""
    out: dict[str, list[float | None]] = {}
    for name, limits in _thresholds(row).items():
        vals: set[float] = {0.0}
        for t in limits:
            vals.update({t, t - 1})
        out[name] = [*sorted(vals), None]
    return out


@pytest.mark.parametrize("row", TABLE, ids=[r[0] for r in TABLE])
def test_size_class_matches_the_table_at_every_boundary_and_with_unknowns(
    row: tuple[str, ...],
) -> None:
    grid = _boundary_values(row)
    points = [
        {"X": x, "Y": y, "Z": z} for x, y, z in itertools.product(grid["X"], grid["Y"], grid["Z"])
    ]
    assert classify(row[1], points) == [reference_class(row, p) for p in points]


@pytest.mark.parametrize("row", TABLE, ids=[r[0] for r in TABLE])
def test_each_threshold_at_equality_and_one_below_changes_tier(row: tuple[str, ...]) -> None:
    # A firm meeting every medium bound is 中型; dropping any one medium indicator just below
    # its bound makes it 小型; dropping a small bound just below makes it 微型.
    limits = _thresholds(row)
    medium = {
        a.split()[0]: float(a.split()[2]) * (1 if a[0] == "X" else 10_000)
        for a in row[3].split(" and ")
    }
    small = {
        a.split()[0]: float(a.split()[2]) * (1 if a[0] == "X" else 10_000)
        for a in row[4].split(" and ")
    }
    base: Values = {"X": 0.0, "Y": 0.0, "Z": 0.0}
    base.update(medium)
    assert classify(row[1], [base]) == ["中型"]
    for name, bound in medium.items():
        below = dict(base, **{name: bound - 1})
        assert classify(row[1], [below]) == ["小型"], (name, bound)
    at_small = dict(base, **small)
    assert classify(row[1], [at_small]) == ["小型"]
    for name, bound in small.items():
        assert classify(row[1], [dict(at_small, **{name: bound - 1})]) == ["微型"], (name, bound)
    large: Values = {name: max(v, default=0.0) for name, v in limits.items()}
    assert classify(row[1], [large]) == ["大型"]


def test_industrial_firm_under_3m_revenue_is_micro_whatever_its_headcount() -> None:
    assert classify("3911", [{"X": None, "Y": 2_999_999.0, "Z": None}]) == ["微型"]
    assert classify("3911", [{"X": 5000, "Y": 2_999_999.0, "Z": None}]) == ["微型"]


def test_unknown_inputs_that_matter_leave_the_class_undecided() -> None:
    assert classify("3911", [{"X": None, "Y": 3_000_000.0, "Z": None}]) == [None]
    assert classify(None, [{"X": 500, "Y": 5e7, "Z": 5e7}]) == [None]
    assert classify("99x9", [{"X": 500, "Y": 5e7, "Z": 5e7}]) == [None]


def test_a_firm_tiny_on_every_indicator_is_micro_whatever_its_industry() -> None:
    # under every row of the table: the known inputs decide it (DESIGN §5)
    assert classify(None, [{"X": 5, "Y": 1.0, "Z": 1.0}]) == ["微型"]
    assert classify("99x9", [{"X": 3, "Y": 1.0, "Z": None}]) == ["微型"]
    assert classify(None, [{"X": None, "Y": 1.0, "Z": 1.0}]) == [None]  # 批发业: X < 5


def test_size_class_of_a_large_known_firm_is_decided_without_assets() -> None:
    assert classify("3911", [{"X": 1000, "Y": 400_000_000.0, "Z": None}]) == ["大型"]


@pytest.mark.parametrize(
    ("code", "industry"),
    [
        ("0141", "农、林、牧、渔业"),
        ("0511", "农、林、牧、渔业"),
        ("0610", "工业"),
        ("4610", "工业"),
        ("4790", "建筑业"),
        ("5010", "建筑业"),
        ("5137", "批发业"),
        ("5261", "零售业"),
        ("5311", "其他未列明行业"),
        ("5430", "交通运输业"),
        ("5821", "交通运输业"),
        ("5990", "仓储业"),
        ("6020", "邮政业"),
        ("6110", "住宿业"),
        ("6210", "餐饮业"),
        ("6319", "信息传输业"),
        ("6432", "信息传输业"),
        ("6513", "软件和信息技术服务业"),
        ("7010", "房地产开发经营"),
        ("7020", "物业管理"),
        ("7030", "其他未列明行业"),
        ("7111", "租赁和商务服务业"),
        ("7212", "租赁和商务服务业"),
        ("6620", "其他未列明行业"),
        ("8010", "其他未列明行业"),
        ("123", None),
        (None, None),
    ],
)
def test_industry_code_maps_to_its_table_row(code: str | None, industry: str | None) -> None:
    frame = pl.DataFrame({"c": [code]}, schema={"c": pl.String})
    assert frame.select(industry_expr(pl.col("c"))).item() == industry


values = st.one_of(st.none(), st.integers(0, 3_000), st.floats(0, 3e9, allow_nan=False))


@settings(max_examples=150, deadline=None)
@given(row=st.sampled_from(TABLE), x=st.one_of(st.none(), st.integers(0, 3000)), y=values, z=values)
def test_size_class_equals_reference_for_any_inputs(
    row: tuple[str, ...], x: int | None, y: float | None, z: float | None
) -> None:
    point: Values = {"X": x, "Y": y, "Z": z}
    assert classify(row[1], [point]) == [reference_class(row, point)]


# ---- the classes still possible (profiles.possible) ----------------------------------------


def _completions(rows: list[tuple[str, ...]], point: Values) -> set[str]:
    """Every class some completion of the unknown inputs gives, by the reference reading:
    an unknown indicator takes each threshold of the rows, one unit below it, 0 and a huge
    value (enough: classes change only at thresholds)."""
    found: set[str] = set()
    for row in rows:
        grid = {name: (vals[:-1] if point[name] is None else [point[name]])
                for name, vals in _boundary_values(row).items()}
        for name in grid:
            if point[name] is None:
                grid[name] = [*grid[name], 1e12]
        for x, y, z in itertools.product(grid["X"], grid["Y"], grid["Z"]):
            cls = reference_class(row, {"X": x, "Y": y, "Z": z})
            assert cls is not None
            found.add(cls)
    return found


def possible(code: str | None, point: Values) -> set[str]:
    frame = pl.DataFrame(
        {"industry_code": [code], "employees": [point["X"]],
         "operating_revenue": [point["Y"]], "total_assets": [point["Z"]]},
        schema={"industry_code": pl.String, "employees": pl.Float64,
                "operating_revenue": pl.Float64, "total_assets": pl.Float64})
    mask = with_size_class(frame).collect()["size_class__possible"].item()
    return set(members(SIZE_CLASSES, mask))


@settings(max_examples=150, deadline=None)
@given(row=st.sampled_from([*TABLE, None]), x=st.one_of(st.none(), st.integers(0, 3000)),
       y=values, z=values)
def test_the_possible_classes_are_those_of_some_completion_of_the_unknown_inputs(
    row: tuple[str, ...] | None, x: int | None, y: float | None, z: float | None
) -> None:
    point: Values = {"X": x, "Y": y, "Z": z}
    rows = list(TABLE) if row is None else [row]
    assert possible(None if row is None else row[1], point) == _completions(rows, point)


def test_an_industrial_firm_with_5000wan_revenue_is_an_sme_whatever_its_headcount() -> None:
    point: Values = {"X": None, "Y": 5e7, "Z": None}
    assert classify("3911", [point]) == [None]
    assert possible("3911", point) == {"中型", "小型", "微型"}
    assert possible("3911", {"X": 1200, "Y": 5e8, "Z": None}) == {"大型"}
    assert possible("3911", {"X": 800, "Y": 1e6, "Z": None}) == {"微型"}
