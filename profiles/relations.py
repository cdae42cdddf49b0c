"""Link tables (household register, employment links): validation with quarantine, and the
member frames of the relations the rule language aggregates over.

A link table is validated like a profile source (``profiles.ingest``): every value parses as
written or its row is quarantined with the reason; the keys' check characters are verified;
required cells must be there. Table rules on top:

* ``households`` (公安): one household per person -- a person listed in two households, or a
  household with more than one 户主 or 配偶, has *all* its rows rejected
  (``household_conflict``), since we cannot know which row is right.
* ``employment_links`` (人社): ``left_on`` must not precede ``hired_on`` (``bad_period``); an
  empty ``left_on`` means the employment goes on.

Relations (catalog ``relations``; members carry the link's fields and their person fields):

* ``household.members`` (person): everyone in the person's household, the person included;
* ``spouse`` (person): the 配偶 of a 户主, or the 户主 of a 配偶, in the same household;
* ``hires`` (enterprise): every employment link of the firm, past and current.

A person absent from the household register has no household *on record*: every aggregate
over it is UNKNOWN, never "no members". A firm without employment links has no hires (the
人社 register lists every insured employment).

>>> import polars as pl
>>> hh = pl.DataFrame({"household_id": ["H1", "H1", "H1"],
...                    "id_number": ["110105194912310021", "110105195001010012",
...                                  "11010519491231002X"],
...                    "relation": ["户主", "配偶", "子女"]})
>>> result = validate_table(hh, table="households", source="公安")
>>> result.clean.height, result.rejects["reason"].to_list()
(2, ['身份证号校验码错误 [key_check_char]'])
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from profiles.catalog import OWNER_COLUMN, Field, LinkTable, load_catalog
from profiles.idcheck import id_number_problems, uscc_problems
from profiles.ingest import (
    DTYPES,
    REJECT_SCHEMA,
    SourceStats,
    Validated,
    _parser,
    _problem,
    _reason,
)
from profiles.masking import mask_expr
from profiles.parse import with_stages
from profiles.sources import file_sha256, read_source

OWNER = OWNER_COLUMN
_ROW = "__row"
_TABLE_FILE = re.compile(r"^(?P<table>households|employment_links)(?:_(?P<dept>[\w\-]+))?$")


@dataclass(frozen=True)
class RelatedFrame:
    """The members of one relation: ``members`` has the owner's key in ``__owner`` and the
    member scope's columns (link fields, the member's person fields, derived ones included);
    ``owners`` lists the owners on record when the relation's ``empty`` is ``unknown`` (an
    owner absent there has every aggregate UNKNOWN), None when every owner is on record
    (``not_listed``: no rows means no members)."""

    members: pl.LazyFrame
    owners: pl.LazyFrame | None = None


def link_table(name: str) -> LinkTable:
    tables = load_catalog().tables
    if name not in tables:
        raise KeyError(f"unknown link table {name!r}; expected one of {sorted(tables)}")
    return tables[name]


def table_name(path: Path) -> str | None:
    """The link table a file holds (``households_公安.csv`` -> ``households``), or None.

    >>> table_name(Path("employment_links_人社.parquet")), table_name(Path("person.csv"))
    ('employment_links', None)
    """
    if path.suffix.lower() not in (".csv", ".parquet"):
        return None
    match = _TABLE_FILE.match(path.stem)
    return match.group("table") if match else None


def _key_problems(f: Field, values: pl.Series) -> pl.Series:
    if f.format == "id_number":
        return id_number_problems(values)
    return uscc_problems(values)


def _resolve(columns: list[str], table: LinkTable) -> dict[str, str]:
    out: dict[str, str] = {}
    for col in columns:
        for f in table.fields:
            if col.strip() in (f.name, f.label) and f.name not in out.values():
                out[col] = f.name
    return out


def validate_table(df: pl.DataFrame, *, table: str, source: str) -> Validated:
    """Validate one link-table extract: clean rows (typed) and rejects (one line per
    problem, personal values masked)."""
    spec = link_table(table)
    mapping = _resolve(df.columns, spec)
    n = df.height
    missing = [f for f in spec.required if f not in mapping.values()]
    if missing:
        problem = "缺少必需列 " + ", ".join(f"{m}({spec.field(m).label})" for m in missing)
        rejects = pl.DataFrame([{"source": source, "row_number": None, "key": None,
                                 "field": ",".join(missing), "value": None,
                                 "reason": _reason(problem, "key_column_missing")}],
                               schema=REJECT_SCHEMA)
        return Validated(clean=pl.DataFrame(schema={f.name: DTYPES[f.type] for f in spec.fields}),
                         rejects=rejects,
                         stats=SourceStats(source=source, rows_read=n, rows_accepted=0,
                                           rows_rejected=n, refused=problem),
                         warnings=(f"{problem}，整个数据源被拒收",))
    text = df.select(
        [pl.col(c).cast(pl.String).str.strip_chars().replace("", None).alias(name)
         for c, name in mapping.items()]
    ).with_row_index(_ROW, offset=1)
    for f in spec.fields:
        if f.name not in text.columns:
            text = text.with_columns(pl.lit(None, pl.String).alias(f.name))
    # the keys' checks read their values (eagerly); every other field is one lazy plan:
    # its stages, values and problems computed side by side, collected once
    keyed = [f for f in spec.fields if f.format in ("id_number", "uscc")]
    if keyed:
        text = text.with_columns(pl.col(f.name).str.to_uppercase() for f in keyed)
        text = text.with_columns(
            pl.Series(f"__bad_{f.name}", _key_problems(f, text[f.name].fill_null("")))
            .set(text[f.name].is_null(), None) for f in keyed)
    parsed = {f.name: _parser(f)(pl.col(f.name)) for f in spec.fields if f not in keyed}
    plan = with_stages(text.lazy(), parsed.values()).with_columns(
        *(pl.col(f.name).alias(f"__v_{f.name}") for f in keyed),
        *(p.value.cast(DTYPES[spec.field(name).type]).alias(f"__v_{name}")
          for name, p in parsed.items()))
    plan = plan.with_columns(_problem(spec.field(name), p, pl.col(f"__v_{name}"))
                             .alias(f"__bad_{name}") for name, p in parsed.items())
    problems = {f.name: pl.col(f"__bad_{f.name}") for f in spec.fields}
    for name in spec.required:
        problems[name] = (pl.when(pl.col(name).is_null())
                          .then(pl.lit(_reason("必填项为空", "required_missing")))
                          .otherwise(problems[name]))
    if table == "employment_links":
        problems["left_on"] = (pl.when(pl.col("__v_left_on") < pl.col("__v_hired_on"))
                               .then(pl.lit(_reason("用工终止日期早于起始日期", "bad_period")))
                               .otherwise(problems["left_on"]))
    text = plan.with_columns(e.alias(f"__bad_{name}") for name, e in problems.items()).select(
        _ROW, *(f.name for f in spec.fields), *(f"__v_{f.name}" for f in spec.fields),
        *(f"__bad_{f.name}" for f in spec.fields)).collect(engine="in-memory")
    personal = {f.name for f in spec.fields if f.personal}

    def shown(name: str, col: pl.Expr) -> pl.Expr:
        return mask_expr(col, "id_number") if name in personal else col

    key_field = "id_number"
    rejects = pl.concat([
        text.filter(pl.col(f"__bad_{f.name}").is_not_null()).select(
            pl.lit(source).alias("source"), pl.col(_ROW).cast(pl.Int64).alias("row_number"),
            shown(key_field, pl.col(key_field)).alias("key"), pl.lit(f.name).alias("field"),
            shown(f.name, pl.col(f.name)).alias("value"),
            pl.col(f"__bad_{f.name}").alias("reason"))
        for f in spec.fields
    ], how="vertical").cast(REJECT_SCHEMA)  # type: ignore[arg-type]
    good = text.select(pl.all_horizontal(pl.col(f"__bad_{f.name}").is_null()
                                         for f in spec.fields)).to_series()
    # only the clean columns are copied, and only when some row is bad
    clean = text.select(pl.col(_ROW), pl.col(key_field),
                        *[pl.col(f"__v_{f.name}").alias(f.name) for f in spec.fields
                          if f.name != key_field])
    if not good.all():
        clean = clean.filter(good)
    if table == "households":
        clean, conflicts = _household_conflicts(clean, source=source,
                                                shown_key=shown(key_field, pl.col(key_field)))
        rejects = pl.concat([rejects, conflicts])
    else:
        clean = _first_of_repeats(clean, [c for c in clean.columns if c != _ROW])
    rejects = rejects.sort("row_number", maintain_order=True)
    stats = SourceStats(source=source, rows_read=n, rows_accepted=clean.height,
                        rows_rejected=rejects["row_number"].n_unique() if rejects.height else 0,
                        ignored_columns=tuple(c for c in df.columns if c not in mapping))
    ordered = [f.name for f in spec.fields]
    return Validated(clean=clean.drop(_ROW).select(ordered), rejects=rejects, stats=stats)


def _first_of_repeats(frame: pl.DataFrame, subset: list[str]) -> pl.DataFrame:
    """``frame.unique(subset, keep="first", maintain_order=True)``, with the rows compared
    only where their hash repeats: a unique over every row of 1.92M links held ~500 MB to
    find a few repeats. (A hash treats 0.0 and -0.0, and NaNs, as ``unique`` does.)"""
    maybe = frame.select(pl.struct(subset).hash()).to_series().is_duplicated()
    if not maybe.any():
        return frame
    kept = frame.filter(maybe).unique(subset=subset, keep="first", maintain_order=True)
    return frame.filter(~maybe | pl.col(_ROW).is_in(kept[_ROW].implode()))


def _household_conflicts(clean: pl.DataFrame, *, source: str, shown_key: pl.Expr
                         ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Reject every row of a person listed in two households, and of a household with more
    than one 户主 or 配偶 (identical repeated rows are merged first)."""
    clean = clean.unique(subset=["household_id", "id_number", "relation"], keep="first",
                         maintain_order=True)
    twice = clean.group_by("id_number").agg(pl.len().alias("n")).filter(pl.col("n") > 1)
    heads = (clean.filter(pl.col("relation").is_in(["户主", "配偶"]))
             .group_by("household_id", "relation").agg(pl.len().alias("n"))
             .filter(pl.col("n") > 1))
    bad_person = pl.col("id_number").is_in(twice["id_number"].implode())
    bad_household = pl.col("household_id").is_in(heads["household_id"].implode())
    reason = (pl.when(bad_person).then(pl.lit(_reason("同一人登记在多个户中，全部拒收",
                                                      "household_conflict")))
              .otherwise(pl.lit(_reason("同一户有多个户主或配偶，全部拒收",
                                        "household_conflict"))))
    rejected = clean.filter(bad_person | bad_household).select(
        pl.lit(source).alias("source"), pl.col(_ROW).cast(pl.Int64).alias("row_number"),
        shown_key.alias("key"), pl.lit("household_id").alias("field"),
        pl.col("household_id").alias("value"), reason.alias("reason"))
    return clean.filter(~(bad_person | bad_household)), rejected.cast(REJECT_SCHEMA)  # type: ignore[arg-type]


def load_link_tables(directory: Path) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """The clean rows of every link table in ``directory`` (by table name) and the rejects
    of all of them; a table refused whole is left out (its relations are then UNKNOWN)."""
    clean: dict[str, pl.DataFrame] = {}
    rejects = [pl.DataFrame(schema=REJECT_SCHEMA)]
    for path in sorted(directory.iterdir()):
        table = table_name(path) if path.is_file() else None
        if table is None:
            continue
        frame, _ = read_source(path)
        result = validate_table(frame, table=table, source=path.stem)
        rejects.append(result.rejects)
        if result.stats.refused is None:
            clean[table] = (pl.concat([clean[table], result.clean]) if table in clean
                            else result.clean)
    return clean, pl.concat(rejects)


def related_frames(*, persons: pl.DataFrame | pl.LazyFrame,
                   households: pl.DataFrame | None = None,
                   employment_links: pl.DataFrame | None = None) -> dict[str, RelatedFrame]:
    """The member frames of every relation whose table is given; ``persons`` is the derived
    person snapshot (members' own fields). A relation whose table is absent is left out: the
    matcher then reads its aggregates as UNKNOWN."""
    people = persons.lazy()
    out: dict[str, RelatedFrame] = {}
    if households is not None:
        hh = households.lazy().select(pl.col("household_id", "id_number", "relation")
                                      .cast(pl.String))
        register = hh.select(pl.col("id_number").alias(OWNER))
        owner = hh.select("household_id", pl.col("id_number").alias(OWNER),
                          pl.col("relation").alias("__owner_relation"))
        pairs = owner.join(hh, on="household_id")
        members = pairs.join(people, on="id_number", how="left")
        out["household.members"] = RelatedFrame(
            members=members.drop("household_id", "__owner_relation"), owners=register)
        spouse = pairs.filter(
            ((pl.col("__owner_relation") == "户主") & (pl.col("relation") == "配偶"))
            | ((pl.col("__owner_relation") == "配偶") & (pl.col("relation") == "户主")))
        out["spouse"] = RelatedFrame(
            members=spouse.join(people, on="id_number", how="left")
            .drop("household_id", "__owner_relation"), owners=register)
    if employment_links is not None:
        links = employment_links.lazy().rename({"uscc": OWNER})
        out["hires"] = RelatedFrame(members=links.join(people, on="id_number", how="left"))
    return out


@dataclass(frozen=True)
class Relations:
    """What a match aggregates over, for every path that matches (nightly run, partitioned
    run, simulation, ``mianshen match``, the demo): the member frames by relation name,
    the files they came from with their sha256 (a run's identity covers them, as it covers
    the snapshot's own sources) and the link-table rows quarantined on the way."""

    frames: dict[str, RelatedFrame]
    sources: dict[str, str]
    rejects: pl.DataFrame

    @classmethod
    def none(cls) -> Relations:
        return cls(frames={}, sources={}, rejects=pl.DataFrame(schema=REJECT_SCHEMA))


def link_files(directory: Path) -> list[Path]:
    """The link-table files in ``directory`` (sorted), or none when it does not exist."""
    if not directory.is_dir():
        return []
    return [p for p in sorted(directory.iterdir()) if p.is_file() and table_name(p)]


def load_relations(directory: Path, *, persons: pl.DataFrame | pl.LazyFrame | None,
                   persons_hash: str | None = None) -> Relations:
    """The relations of the link tables in ``directory`` over the derived person profiles
    ``persons`` (the members' own fields; None: only the link fields are known, a member's
    person fields are UNKNOWN). No link table in the folder: no relation, every aggregate
    over one is UNKNOWN."""
    files = link_files(directory)
    if not files:
        return Relations.none()
    clean, rejects = load_link_tables(directory)
    people = persons if persons is not None else pl.DataFrame(
        {"id_number": pl.Series([], dtype=pl.String)})
    frames = related_frames(persons=people, households=clean.get("households"),
                            employment_links=clean.get("employment_links"))
    sources = {f"link:{p.name}": file_sha256(p) for p in files}
    if persons_hash:
        sources["link:persons"] = persons_hash
    return Relations(frames=frames, sources=sources, rejects=rejects)


def members_by_owner(frame: RelatedFrame) -> dict[str, list[dict[str, object]]]:
    """Members per owner as rows (for the reference interpreter and tests); an owner on
    record without members maps to an empty list."""
    out: dict[str, list[dict[str, object]]] = {}
    if frame.owners is not None:
        for key in frame.owners.collect().get_column(OWNER).to_list():
            out.setdefault(str(key), [])
    for row in frame.members.collect().iter_rows(named=True):
        out.setdefault(str(row[OWNER]), []).append(row)
    return out


def rows_with_members(frame: pl.DataFrame, key: str, related: Mapping[str, RelatedFrame]
                      ) -> list[dict[str, Any]]:
    """The profile rows of ``frame`` with, under each relation's name, the owner's members
    as rows - what the reference interpreter reads (None: the owner is not on record; a
    relation without an owners list has every owner on record)."""
    by_rel = {name: members_by_owner(rf) for name, rf in related.items()}
    rows = []
    for row in frame.iter_rows(named=True):
        out: dict[str, Any] = dict(row)
        for name, rf in related.items():
            found = by_rel[name].get(str(row[key]))
            out[name] = found if found is not None or rf.owners is not None else []
        rows.append(out)
    return rows
