"""Validation of source extracts against the tag catalog, with quarantine.

Every row is checked, vectorised: the key's check character, each value's type and format,
the catalog's ``values``, ``min`` and ``max``. A row with any problem is quarantined: it leaves
the clean table and gets one line per problem in the rejects table
(``source, row_number, key, field, value, reason``). ``row_number`` counts data rows from 1
(the CSV header is not counted). Person keys and personal values are masked there.

Rules (DESIGN §5): an empty cell stays null (UNKNOWN) -- for list-type fields too, where the
rule compiler reads null as "not listed". Keys are stripped and upper-cased (``x`` -> ``X``).
Unknown columns, derived and declared fields are ignored with a warning (logged and
returned). Duplicate keys: identical rows are merged into one; rows of one key that disagree
are *all* rejected (``duplicate_conflict``), since we cannot know which one is right.

Accepted spellings: integers (``12``, ``12.0``), numbers (``1.5e6``), dates (``2024-03-01``,
``2024/03/01``, ``2024.03.01``, ``20240301``, optionally followed by a time), booleans
(``true/false``, ``1/0``, ``是/否``, ``y/n``, ``yes/no``), industry codes with or without the
section letter (``C3911`` -> ``3911``).

>>> df = pl.DataFrame({"uscc": ["91350100M000100Y43", "91350100M000100Y44"],
...                    "从业人数": ["12", "-3"]})
>>> clean, rejects = validate_frame(df, entity="enterprise")
>>> clean["employees"].to_list()
[12]
>>> rejects["reason"].to_list()
['统一社会信用代码校验码错误 [key_check_char]', '小于最小值 0 [below_min]']
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from profiles.catalog import EntityCatalog, Field, load_catalog
from profiles.errors import UnknownEntityError
from profiles.idcheck import id_number_problems, uscc_problems
from profiles.masking import Kind, mask_expr

log = logging.getLogger(__name__)

REJECT_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "row_number": pl.Int64(),
    "key": pl.String(),
    "field": pl.String(),
    "value": pl.String(),
    "reason": pl.String(),
}
DTYPES: dict[str, pl.DataType] = {
    "str": pl.String(),
    "int": pl.Int64(),
    "float": pl.Float64(),
    "date": pl.Date(),
    "bool": pl.Boolean(),
}
TRUE_WORDS = ("true", "1", "是", "y", "yes", "t")
FALSE_WORDS = ("false", "0", "否", "n", "no", "f")
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d")
DATE_RANGE = (1800, 2199)
_ROW = "__row"


@dataclass(frozen=True, kw_only=True)
class SourceStats:
    """What happened to one source extract."""

    source: str
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    duplicates_merged: int = 0
    ignored_columns: tuple[str, ...] = ()
    refused: str | None = None


@dataclass(frozen=True, kw_only=True)
class Validated:
    clean: pl.DataFrame
    rejects: pl.DataFrame
    stats: SourceStats
    warnings: tuple[str, ...] = field(default=())


def entity_catalog(entity: str) -> EntityCatalog:
    if entity not in ("enterprise", "person"):
        raise UnknownEntityError(entity)
    return load_catalog().entity(entity)


def empty_rejects() -> pl.DataFrame:
    return pl.DataFrame(schema=REJECT_SCHEMA)


def _reason(text: str, code: str) -> str:
    return f"{text} [{code}]"


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _value(f: Field, raw: pl.Expr) -> pl.Expr:
    """The parsed, typed value of the stripped text ``raw`` of field ``f`` (null if it fails)."""
    if f.type == "int":
        as_float = raw.cast(pl.Float64, strict=False)
        whole = pl.when(as_float == as_float.round(0)).then(as_float.cast(pl.Int64, strict=False))
        return raw.str.to_integer(strict=False).fill_null(whole)
    if f.type == "float":
        parsed = raw.cast(pl.Float64, strict=False)
        return pl.when(parsed.is_finite()).then(parsed)
    if f.type == "date":
        # literal replaces and a slice only: regexes cost seconds per million rows
        text = raw.str.replace_all("/", "-", literal=True).str.replace_all(".", "-", literal=True)
        text = pl.when(text.str.len_bytes() > 10).then(text.str.slice(0, 10)).otherwise(text)
        return pl.coalesce(
            text.str.to_date("%Y-%m-%d", strict=False),
            text.str.to_date("%Y%m%d", strict=False),
        )
    if f.type == "bool":
        low = raw.str.to_lowercase()
        return pl.when(low.is_in(TRUE_WORDS)).then(True).when(low.is_in(FALSE_WORDS)).then(False)
    if f.format == "industry_code":
        return pl.when(raw.str.contains(r"^[A-Ta-t]\d{4}$")).then(raw.str.slice(1)).otherwise(raw)
    return raw


def _problem(f: Field, raw: pl.Expr, value: pl.Expr) -> pl.Expr:
    """The reason (or null) for field ``f`` given its text ``raw`` and parsed ``value``."""
    failed = raw.is_not_null() & value.is_null()
    bad: Any
    if f.type == "int":
        bad = pl.when(failed).then(pl.lit(_reason("不是整数", "not_integer")))
    elif f.type == "float":
        bad = pl.when(failed).then(pl.lit(_reason("不是数字", "not_number")))
    elif f.type == "date":
        year = value.dt.year()
        bad = (
            pl.when(failed)
            .then(pl.lit(_reason("不是有效日期，应为 YYYY-MM-DD", "not_date")))
            .when((year < DATE_RANGE[0]) | (year > DATE_RANGE[1]))
            .then(
                pl.lit(
                    _reason(
                        f"日期不合理，应在 {DATE_RANGE[0]}-{DATE_RANGE[1]} 年之间",
                        "implausible_date",
                    )
                )
            )
        )
    elif f.type == "bool":
        bad = pl.when(failed).then(pl.lit(_reason("不是是/否值", "not_bool")))
    else:
        bad = _text_problem(f, value)
    if f.is_numeric:
        if f.min is not None:
            bad = bad.when(value < f.min).then(
                pl.lit(_reason(f"小于最小值 {_fmt(f.min)}", "below_min"))
            )
        if f.max is not None:
            bad = bad.when(value > f.max).then(
                pl.lit(_reason(f"大于最大值 {_fmt(f.max)}", "above_max"))
            )
    result: pl.Expr = bad.otherwise(None).cast(pl.String)
    return result


def _text_problem(f: Field, value: pl.Expr) -> Any:
    bad: Any = pl.when(pl.lit(False)).then(pl.lit(None, pl.String))
    if f.format == "region_code":
        bad = pl.when(~value.str.contains(r"^[1-9]\d{5}$")).then(
            pl.lit(_reason("区划代码应为6位数字", "bad_format"))
        )
    elif f.format == "industry_code":
        division = value.str.slice(0, 2).cast(pl.Int32, strict=False)
        bad = pl.when(~value.str.contains(r"^\d{4}$") | (division < 1) | (division > 97)).then(
            pl.lit(_reason("国民经济行业代码应为4位数字(GB/T 4754-2017)", "bad_format"))
        )
    if f.values is not None:
        allowed = "/".join(f.values)
        bad = bad.when(~value.is_in(list(f.values))).then(
            pl.lit(_reason(f"不在允许取值内(允许: {allowed})", "not_in_values"))
        )
    return bad


def _resolve_columns(columns: list[str], cat: EntityCatalog) -> tuple[dict[str, str], list[str]]:
    """Map input column -> catalog base field; the list of warnings for ignored columns."""
    mapping: dict[str, str] = {}
    warnings: list[str] = []
    for col in columns:
        name = col.strip()
        if name not in cat:
            hint = cat.suggest(name)
            warnings.append(f"未知列 '{col}' 已忽略" + (f"(是否为 '{hint}'?)" if hint else ""))
            continue
        f = cat.field(name)
        if f.kind != "base":
            warnings.append(f"列 '{col}' 是{'派生' if f.kind == 'derived' else '申报'}字段，已忽略")
        elif f.name in mapping.values():
            warnings.append(f"列 '{col}' 与已有列重复(字段 {f.name})，已忽略")
        else:
            mapping[col] = f.name
    return mapping, warnings


def _key_and_mask(cat: EntityCatalog, key: str) -> tuple[pl.Expr, dict[str, pl.Expr]]:
    """The key expression shown in rejects, and how personal values are masked."""
    personal = {f.name: f for f in cat.fields if f.personal}
    masks: dict[str, pl.Expr] = {}
    for name in personal:
        kind: Kind = "id_number" if name == key else "phone" if "phone" in name else "name"
        masks[name] = mask_expr(pl.col("value"), kind)
    shown = mask_expr(pl.col(key), "id_number") if key in personal else pl.col(key)
    return shown, masks


def validate_source(df: pl.DataFrame, *, entity: str, source: str) -> Validated:
    """Validate one extract (text or typed columns); only the columns it has come back."""
    cat = entity_catalog(entity)
    key = cat.key
    mapping, warnings = _resolve_columns(df.columns, cat)
    n = df.height
    if key not in mapping.values():
        problem = f"缺少主键列 {key}({cat.field(key).label})"
        refused = Validated(
            clean=pl.DataFrame(schema={key: pl.String()}),
            rejects=pl.DataFrame(
                [
                    {
                        "source": source,
                        "row_number": None,
                        "key": None,
                        "field": key,
                        "value": None,
                        "reason": _reason(problem, "key_column_missing"),
                    }
                ],
                schema=REJECT_SCHEMA,
            ),
            stats=SourceStats(
                source=source, rows_read=n, rows_accepted=0, rows_rejected=n, refused=problem
            ),
            warnings=(*warnings, f"{problem}，整个数据源被拒收"),
        )
        log.warning("source refused: %s has no key column %s", source, key)
        return refused
    for col in df.columns:
        if col not in mapping:
            log.warning(
                "source %s: column %r ignored (not a base field of %s)", source, col, entity
            )
    fields = sorted((cat.field(name) for name in mapping.values()), key=lambda f: f.name != key)
    text = (
        df.select(
            [
                pl.col(col).cast(pl.String).str.strip_chars().replace("", None).alias(name)
                for col, name in mapping.items()
            ]
        )
        .with_columns(pl.col(key).str.to_uppercase())
        .with_row_index(_ROW, offset=1)
    )
    key_problem = (
        uscc_problems(text[key]) if entity == "enterprise" else id_number_problems(text[key])
    )
    others = [f for f in fields if f.name != key]
    work = (
        text.with_columns(pl.Series(f"__bad_{key}", key_problem))
        .with_columns(
            _value(f, pl.col(f.name)).cast(DTYPES[f.type]).alias(f"__v_{f.name}") for f in others
        )
        .with_columns(
            _problem(f, pl.col(f.name), pl.col(f"__v_{f.name}")).alias(f"__bad_{f.name}")
            for f in others
        )
    )
    parsed = [pl.col(f"__v_{f.name}").alias(f.name) for f in others]
    bad_cols = [f"__bad_{f.name}" for f in fields]
    shown_key, masks = _key_and_mask(cat, key)
    rejects = pl.concat(
        [
            work.filter(pl.col(f"__bad_{f.name}").is_not_null()).select(
                pl.lit(source).alias("source"),
                pl.col(_ROW).cast(pl.Int64).alias("row_number"),
                shown_key.alias("key"),
                pl.lit(f.name).alias("field"),
                pl.col(f.name).alias("value"),
                pl.col(f"__bad_{f.name}").alias("reason"),
            )
            for f in fields
        ],
        how="vertical",
    )
    if masks:
        rejects = rejects.with_columns(
            pl.coalesce(
                [pl.when(pl.col("field") == name).then(m) for name, m in masks.items()]
                + [pl.when(~pl.col("field").is_in(list(masks))).then(pl.col("value"))]
            ).alias("value")
        )
    good = work.filter(pl.all_horizontal(pl.col(c).is_null() for c in bad_cols))
    clean = good.select(pl.col(_ROW), pl.col(key), *parsed)
    clean, dup_rejects, merged = _resolve_duplicates(
        clean, key=key, source=source, shown_key=shown_key
    )
    rejects = pl.concat([rejects, dup_rejects]).sort("row_number", maintain_order=True)
    stats = SourceStats(
        source=source,
        rows_read=n,
        rows_accepted=clean.height,
        rows_rejected=rejects["row_number"].n_unique() if rejects.height else 0,
        duplicates_merged=merged,
        ignored_columns=tuple(c for c in df.columns if c not in mapping),
    )
    return Validated(clean=clean.drop(_ROW), rejects=rejects, stats=stats, warnings=tuple(warnings))


def _resolve_duplicates(
    clean: pl.DataFrame, *, key: str, source: str, shown_key: pl.Expr
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """Merge identical duplicate rows; reject every row of a key whose rows disagree."""
    # Hash first (fast on 1M keys), then confirm exactly on the few candidates.
    candidates = clean.filter(clean[key].hash().is_duplicated())
    dups = candidates.filter(candidates[key].is_duplicated())
    if dups.height == 0:
        return clean, empty_rejects(), 0
    value_cols = [c for c in clean.columns if c not in (_ROW, key)]
    conflicts = dups.group_by(key).agg([pl.col(c).n_unique().alias(c) for c in value_cols])
    conflicts = conflicts.select(
        pl.col(key),
        pl.concat_list(
            [pl.when(pl.col(c) > 1).then(pl.lit(c)) for c in value_cols] or [pl.lit(None)]
        )
        .list.drop_nulls()
        .alias("fields"),
    ).filter(pl.col("fields").list.len() > 0)
    bad_keys = conflicts[key]
    rejected = dups.join(conflicts, on=key).select(
        pl.lit(source).alias("source"),
        pl.col(_ROW).cast(pl.Int64).alias("row_number"),
        shown_key.alias("key"),
        pl.col("fields").list.join(",").alias("field"),
        pl.lit(None, pl.String).alias("value"),
        pl.concat_str(
            pl.lit("同一主键有多行且取值冲突(字段: "),
            pl.col("fields").list.join(","),
            pl.lit(")，全部拒收 [duplicate_conflict]"),
        ).alias("reason"),
    )
    kept = clean.filter(~pl.col(key).is_in(bad_keys.implode()))
    before = kept.height
    kept = kept.unique(subset=key, keep="first", maintain_order=True)
    return kept, rejected, before - kept.height


def complete(clean: pl.DataFrame, *, entity: str) -> pl.DataFrame:
    """Every base field of the catalog, in catalog order, typed; absent ones all null."""
    cat = entity_catalog(entity)
    return clean.select(
        [
            pl.col(f.name)
            if f.name in clean.columns
            else pl.lit(None, DTYPES[f.type]).alias(f.name)
            for f in cat.base_fields
        ]
    ).cast({f.name: DTYPES[f.type] for f in cat.base_fields})


def validate_frame(
    df: pl.DataFrame, *, entity: str, source: str = "wide"
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Validate one wide table: (clean table with every base field, rejects)."""
    result = validate_source(df, entity=entity, source=source)
    return complete(result.clean, entity=entity), result.rejects
