"""Yearly extracts: one value per entity, field and accounting year, validated cell by cell.

A 税务 (or 统计) extract of annual figures is a panel: one row per taxpayer and accounting
year, as the annual CIT return (企业所得税年度纳税申报表) and the 统计 annual report give
them. File name ``yearly_{entity}_{部门}.csv`` (or ``.parquet``), e.g.
``yearly_enterprise_税务.csv``; columns by catalog name or Chinese label:

==========================  =====================================================
column                      meaning
==========================  =====================================================
``uscc`` 统一社会信用代码      the key (its check character is verified)
``year`` 年度 / 所属年度       the accounting year, four digits (1900-2199)
any yearly field            ``operating_revenue`` 营业收入, ``rd_expense`` 研发费用,
                            ``employees`` 从业人数, ``tax_paid`` 纳税总额 (catalog ``yearly:``)
==========================  =====================================================

The snapshot gets one column per field and year present (``operating_revenue_y2024``,
:func:`profiles.catalog.year_column`). Validation is per cell (DESIGN §3, "data defects
never decide"): a value that does not parse, or breaks the catalog's ``min``/``max``, is a
reject line and makes **only that year** of that field UNKNOWN, and the entity is held for
that year column (its benefits are held, never revoked). A row whose key is wrong is
rejected whole (the entity cannot be named); a row whose year is wrong, an unreadable line
whose key is legible, or rows of one key and year that disagree hold the entity's year
columns of the year (all of them when the year is unknown). An empty cell is UNKNOWN.

>>> df = pl.DataFrame({"uscc": ["91350100M000100Y43"] * 3, "年度": ["2023", "2024", "2025"],
...                    "营业收入": ["100", "-5", "300"], "rd_expense": ["1", "2", ""]})
>>> result = validate_yearly(df, entity="enterprise", source="税务")
>>> result.wide.row(0, named=True)  # doctest: +NORMALIZE_WHITESPACE
{'uscc': '91350100M000100Y43', 'operating_revenue_y2023': 100.0,
 'operating_revenue_y2024': None, 'operating_revenue_y2025': 300.0,
 'rd_expense_y2023': 1.0, 'rd_expense_y2024': 2.0, 'rd_expense_y2025': None}
>>> result.rejects.select("row_number", "field", "reason").row(0)
(2, 'operating_revenue_y2024', '小于最小值 0 [below_min]')
>>> result.held.row(0)
('91350100M000100Y43', 'below_min', ['operating_revenue_y2024'])
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from profiles.catalog import HELD_FIELDS, Field, split_year_column, year_column
from profiles.csv_lines import BadLine
from profiles.idcheck import id_number_problems, uscc_problems
from profiles.ingest import (
    DTYPES,
    REJECT_SCHEMA,
    SourceStats,
    _bad_line_rejects,
    _parser,
    _problem,
    entity_catalog,
)
from profiles.parse import parse_int, reason, with_stages
from profiles.sources import SUFFIXES

_FILE = re.compile(r"^yearly_(?P<entity>enterprise|person)_(?P<dept>[\w\-]+)$")
YEAR_NAMES = frozenset({"year", "年度", "所属年度"})
FIRST_YEAR, LAST_YEAR = 1900, 2199
_ROW, _YEAR = "__row", "__year"
#: held-entity rows: key, first reason code, the year columns held
HELD_SCHEMA = {"code": pl.String(), "fields": pl.List(pl.String())}


def yearly_source(path: Path, *, entity: str) -> str | None:
    """The department of a yearly extract of ``entity``, or None for any other file.

    >>> yearly_source(Path("yearly_enterprise_税务.csv"), entity="enterprise")
    '税务'
    >>> yearly_source(Path("enterprise_税务.csv"), entity="enterprise") is None
    True
    """
    if path.suffix.lower() not in SUFFIXES:
        return None
    match = _FILE.match(path.stem)
    if match is None or match.group("entity") != entity:
        return None
    return match.group("dept")


def find_yearly_sources(directory: Path, *, entity: str) -> list[tuple[str, Path]]:
    """(department, path) of every yearly extract of ``entity`` in ``directory``, by name."""
    found = []
    for path in sorted(directory.iterdir()):
        dept = yearly_source(path, entity=entity) if path.is_file() else None
        if dept is not None:
            found.append((dept, path))
    return found


@dataclass(frozen=True, kw_only=True)
class YearlyValidated:
    """One yearly extract validated: ``wide`` (key and one column per field and year),
    ``rejects`` (the ingest reject schema), ``held`` (key, code, year columns held)."""

    wide: pl.DataFrame
    rejects: pl.DataFrame
    held: pl.DataFrame
    stats: SourceStats
    warnings: tuple[str, ...] = ()


def _refused(key: str, source: str, problem: str, n: int, code: str) -> YearlyValidated:
    rejects = pl.DataFrame([{"source": source, "row_number": None, "key": None, "field": None,
                             "value": None, "reason": reason(problem, code)}],
                           schema=REJECT_SCHEMA)
    return YearlyValidated(
        wide=pl.DataFrame(schema={key: pl.String()}), rejects=rejects,
        held=pl.DataFrame(schema={key: pl.String(), **HELD_SCHEMA}),
        stats=SourceStats(source=source, rows_read=n, rows_accepted=0, rows_rejected=n,
                          refused=problem),
        warnings=(f"{problem}，整个数据源被拒收",))


def validate_yearly(df: pl.DataFrame, *, entity: str, source: str,
                    rows: pl.Series | None = None, bad_lines: Sequence[BadLine] = ()
                    ) -> YearlyValidated:
    """Validate one yearly extract (text or typed columns), vectorized: see the module."""
    cat = entity_catalog(entity)
    key = cat.key
    key_label = cat.field(key).label
    mapping: dict[str, str] = {}
    series: dict[str, Field] = {}
    warnings: list[str] = []
    for col in df.columns:
        name = col.strip()
        if name in (key, key_label) and key not in mapping.values():
            mapping[col] = key
        elif name in YEAR_NAMES and _YEAR not in mapping.values():
            mapping[col] = _YEAR
        elif (f := cat.series(name)) is not None and f.name not in series:
            mapping[col], series[f.name] = f.name, f
        else:
            warnings.append(f"列 '{col}' 不是按年度记录的字段，已忽略")
    n = df.height + len(bad_lines)
    if key not in mapping.values():
        return _refused(key, source, f"缺少主键列 {key}({key_label})", n,
                        "key_column_missing")
    if _YEAR not in mapping.values():
        return _refused(key, source, "缺少年度列 year(年度)", n, "key_column_missing")
    text = df.select(pl.col(c).cast(pl.String).str.strip_chars().replace("", None).alias(m)
                     for c, m in mapping.items()).with_columns(
        pl.col(key).str.to_uppercase(),
        (rows if rows is not None else pl.Series(range(1, df.height + 1))).cast(pl.Int64)
        .alias(_ROW))
    key_bad = (uscc_problems(text[key]) if entity == "enterprise"
               else id_number_problems(text[key]))
    year = parse_int(pl.col(_YEAR))
    year_bad = (pl.when(year.reason.is_not_null()).then(year.reason)
                .when(year.value.is_null()).then(pl.lit(reason("年度为空", "required_missing")))
                .when((year.value < FIRST_YEAR) | (year.value > LAST_YEAR))
                .then(pl.lit(reason(f"年度应在 {FIRST_YEAR}-{LAST_YEAR} 之间",
                                    "implausible_date"))))
    fields = sorted(series.values(), key=lambda f: f.name)
    parsed = [_parser(f)(pl.col(f.name)) for f in fields]
    work = with_stages(text, parsed).with_columns(
        pl.Series("__bad_key", key_bad), year_bad.otherwise(None).alias("__bad_year"),
        year.value.alias("__y"),
        *(p.value.cast(DTYPES[f.type]).alias(f"__v_{f.name}")
          for f, p in zip(fields, parsed, strict=True)))
    work = work.with_columns(
        _problem(f, p, pl.col(f"__v_{f.name}")).alias(f"__bad_{f.name}")
        for f, p in zip(fields, parsed, strict=True))
    key_ok = pl.col("__bad_key").is_null()
    row_ok = key_ok & pl.col("__bad_year").is_null()
    column = pl.concat_str(pl.lit("{series}_y"), pl.col("__y").cast(pl.String).str.zfill(4))

    def reject(when: pl.Expr, field: pl.Expr, value: pl.Expr, why: pl.Expr) -> pl.DataFrame:
        return work.filter(when).select(
            pl.lit(source).alias("source"), pl.col(_ROW).alias("row_number"),
            pl.col(key).alias("key"), field.alias("field"), value.alias("value"),
            why.alias("reason"))

    parts = [reject(~key_ok, pl.lit(key), pl.col(key), pl.col("__bad_key")),
             reject(key_ok & pl.col("__bad_year").is_not_null(), pl.lit("year"),
                    pl.col(_YEAR), pl.col("__bad_year"))]
    parts += [reject(row_ok & pl.col(f"__bad_{f.name}").is_not_null(),
                     column.str.replace("{series}", f.name, literal=True), pl.col(f.name),
                     pl.col(f"__bad_{f.name}")) for f in fields]
    rejects = pl.concat(parts).cast(REJECT_SCHEMA)  # type: ignore[arg-type]
    # cells: a bad value is null (UNKNOWN) and holds that year column only
    good = work.filter(row_ok).with_columns(
        pl.when(pl.col(f"__bad_{f.name}").is_null()).then(pl.col(f"__v_{f.name}"))
        .alias(f.name) for f in fields)
    held_cells = pl.concat([
        good.filter(pl.col(f"__bad_{f.name}").is_not_null()).select(
            pl.col(key), pl.col(f"__bad_{f.name}").str.extract(r"\[(\w+)\]$").alias("code"),
            column.str.replace("{series}", f.name, literal=True).alias("field"))
        for f in fields] or [pl.DataFrame(schema={key: pl.String(), "code": pl.String(),
                                                 "field": pl.String()})])
    # rows of one key and year that disagree: all rejected, that year held
    values = [f.name for f in fields]
    dup = good.filter(pl.struct(key, "__y").is_duplicated())
    conflict = (dup.group_by(key, "__y").agg(pl.struct(values).n_unique().alias("n"))
                .filter(pl.col("n") > 1).select(key, "__y") if values and dup.height
                else pl.DataFrame(schema={key: pl.String(), "__y": pl.Int64()}))
    conflicting = good.join(conflict, on=[key, "__y"], how="semi")
    rejects = pl.concat([rejects, conflicting.select(
        pl.lit(source).alias("source"), pl.col(_ROW).alias("row_number"),
        pl.col(key).alias("key"), pl.lit("year").alias("field"),
        pl.col(_YEAR).alias("value"),
        pl.lit(reason("同一主键同一年度有多行且取值冲突，全部拒收", "duplicate_conflict"))
        .alias("reason"))]).sort("row_number", maintain_order=True)
    good = good.join(conflict, on=[key, "__y"], how="anti")
    merged = good.height - good.unique(subset=[key, "__y"]).height
    good = good.unique(subset=[key, "__y"], keep="first", maintain_order=True)
    years = sorted(good["__y"].unique().drop_nulls().to_list())
    every_column = [year_column(f.name, y) for f in fields for y in years]
    line_rejects, line_keys = _bad_line_rejects(bad_lines, df.columns, mapping, key=key,
                                                entity=entity, source=source)
    rejects = pl.concat([rejects, line_rejects]).sort("row_number", maintain_order=True)
    held = _held(work, key, key_ok, every_column, conflict, fields, held_cells, line_keys)
    wide = _wide(good, key, fields, years)
    # a row with a bad cell stays (only the cell is UNKNOWN): rows rejected are those that
    # left whole (bad key, bad year, conflicting duplicates, unreadable lines)
    whole = rejects.filter(~pl.col("field").is_in(every_column) | pl.col("field").is_null())
    stats = SourceStats(source=source, rows_read=n, rows_accepted=good.height,
                        rows_rejected=whole["row_number"].n_unique() if whole.height else 0,
                        duplicates_merged=merged,
                        ignored_columns=tuple(c for c in df.columns if c not in mapping))
    return YearlyValidated(wide=wide, rejects=rejects, held=held, stats=stats,
                           warnings=tuple(warnings))


def _wide(good: pl.DataFrame, key: str, fields: list[Field], years: list[int]
          ) -> pl.DataFrame:
    """Key and one typed column per field and year (absent: null), sorted by key."""
    out = good.select(key).unique().sort(key)
    for y in years:
        one = good.filter(pl.col("__y") == y).select(
            key, *(pl.col(f.name).alias(year_column(f.name, y)) for f in fields))
        out = out.join(one, on=key, how="left")
    order = sorted(c for c in out.columns if c != key)
    return out.select(key, *order).cast({year_column(f.name, y): DTYPES[f.type]
                                          for f in fields for y in years})


def _held(work: pl.DataFrame, key: str, key_ok: pl.Expr, every_column: list[str],
          conflict: pl.DataFrame, fields: list[Field], held_cells: pl.DataFrame,
          line_keys: pl.DataFrame) -> pl.DataFrame:
    """Held entities: (key, code, year columns): bad cells hold their column; a bad year or
    an unreadable line every column; a conflicting key and year that year's columns."""
    whole = pl.lit(every_column, dtype=pl.List(pl.String))
    bad_year = work.filter(key_ok & pl.col("__bad_year").is_not_null()).select(
        pl.col(key), pl.col("__bad_year").str.extract(r"\[(\w+)\]$").alias("code"),
        whole.alias("fields"))
    year_cols = pl.concat_list([pl.concat_str(pl.lit(f"{f.name}_y"),
                                              pl.col("__y").cast(pl.String).str.zfill(4))
                                for f in fields]) if fields else whole
    conflicts = conflict.select(pl.col(key), pl.lit("duplicate_conflict").alias("code"),
                                year_cols.alias("fields"))
    lines = line_keys.with_columns(whole.alias("fields"))
    cells = held_cells.group_by(key, maintain_order=True).agg(
        pl.col("code").first(), pl.col("field").alias("fields"))
    schema = {key: pl.String(), **HELD_SCHEMA}
    parts = [p.cast(schema) for p in (cells, bad_year, conflicts, lines)]  # type: ignore[arg-type]
    return (pl.concat(parts).explode("fields").group_by(key, maintain_order=True)
            .agg(pl.col("code").first(), pl.col("fields").drop_nulls().unique().sort())
            .sort(key))


def join_yearly(left: pl.DataFrame, right: pl.DataFrame, *, key: str
                ) -> tuple[pl.DataFrame, list[str]]:
    """Year columns of two extracts in one frame; a column in both is taken from ``left``
    where it has a value (warned), as for the profile extracts."""
    if left.width <= 1 and left.height == 0:
        return right, []
    both = sorted(set(left.columns) & set(right.columns) - {key})
    out = left.join(right.rename({c: f"{c}__right" for c in both}), on=key, how="full",
                    coalesce=True)
    out = out.with_columns(pl.coalesce(c, f"{c}__right").alias(c) for c in both)
    out = out.drop([f"{c}__right" for c in both])
    order = sorted(c for c in out.columns if c != key)
    warnings = [f"年度字段 {', '.join(both)} 出现在多个年度数据源，以先读到的为准"] if both else []
    return out.select(key, *order).sort(key), warnings


def zero_before_founding(frame: pl.DataFrame, *, founded: str = "founded_on") -> pl.DataFrame:
    """Year columns of years wholly before the founding year are 0, not UNKNOWN: the firm did
    not exist, so it had no revenue, R&D expense, staff or tax (近三年 … 实际经营期不满三年的
    按实际经营时间计算 then reads the years it operated). Unknown founding date, or a cell held
    on a data defect: left as it is.

    >>> import datetime as dt
    >>> f = pl.DataFrame({"founded_on": [dt.date(2024, 5, 1), None],
    ...                   "operating_revenue_y2023": [None, None],
    ...                   "operating_revenue_y2024": [None, 7.0]},
    ...                  schema_overrides={"operating_revenue_y2023": pl.Float64})
    >>> zero_before_founding(f).rows()
    [(datetime.date(2024, 5, 1), 0.0, None), (None, None, 7.0)]
    """
    columns = [(c, split[1]) for c in frame.columns if (split := split_year_column(c))]
    if founded not in frame.columns or not columns:
        return frame
    before = pl.col(founded).dt.year()
    held = (pl.col(HELD_FIELDS) if HELD_FIELDS in frame.columns
            else pl.lit(None, dtype=pl.List(pl.String())))
    return frame.with_columns(
        pl.when(pl.col(c).is_null() & (before > year)
                & ~held.list.contains(pl.lit(c)).fill_null(False))
        .then(pl.lit(0).cast(frame.schema[c])).otherwise(pl.col(c)).alias(c)
        for c, year in columns)
