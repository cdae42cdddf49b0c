"""Build a dated, hashed profile snapshot from source extracts.

Every extract of the entity in the directory (naming scheme in ``profiles.sources``) is read,
validated (``profiles.ingest``) and the clean rows are joined on the key with a full outer
join: an entity present in one source only is still a profile, with nulls elsewhere. A field
supplied by several sources is taken from the first source (by file name) that has a value,
and a warning says so. Derived tags are added as of ``as_of``.

The snapshot is Parquet, rows sorted by key; its key-value metadata (key ``mianshen``) and the
sidecar ``<file>.meta.json`` hold the entity, as-of date, catalog version, per-source counts
and file sha256, and the snapshot hash: the sha256 of the data's canonical content (rows
sorted by key; see ``canonical_hash``), independent of Parquet encoding and compression.
Rejects go to ``rejects`` (Parquet, or CSV when the name ends in ``.csv``).

With ``tag_model`` (enterprises only), the industry-chain tags and their probabilities are
inferred from the business scope (``profiles.tags``) and the metadata records the model's
version and the share of profiles each tag leaves UNKNOWN; without it they stay null.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import pyarrow as pa

from profiles.catalog import HELD_FIELDS, load_catalog
from profiles.derive import derive
from profiles.errors import SourceError, SourcesNotFoundError
from profiles.ingest import (
    SourceStats,
    Validated,
    complete,
    empty_rejects,
    entity_catalog,
    validate_source,
)
from profiles.leftovers import owned_prefix, remove_leftovers
from profiles.sources import file_sha256, find_sources, read_extract, source_name
from profiles.yearly import (
    find_yearly_sources,
    join_yearly,
    validate_yearly,
    yearly_source,
    zero_before_founding,
)

if TYPE_CHECKING:
    from profiles.tags.training import TagModel

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total): called after each step of the build."""

META_KEY = "mianshen"


@dataclass(frozen=True, kw_only=True)
class SourceReport:
    """One source file: where it came from and what was kept."""

    source: str
    file: str
    sha256: str
    encoding: str
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    duplicates_merged: int
    ignored_columns: tuple[str, ...]
    refused: str | None = None


@dataclass(frozen=True, kw_only=True)
class BuildReport:
    entity: str
    as_of: date
    out: Path
    rejects: Path | None
    profiles: int
    rejected_lines: int
    snapshot_hash: str
    catalog_version: int
    sources: tuple[SourceReport, ...]
    warnings: tuple[str, ...] = field(default=())
    tag_model: dict[str, object] | None = None
    held: dict[str, Any] = field(default_factory=dict)

    @property
    def rows_read(self) -> int:
        return sum(s.rows_read for s in self.sources)

    @property
    def rows_rejected(self) -> int:
        return sum(s.rows_rejected for s in self.sources)

    def metadata(self) -> dict[str, object]:
        """The snapshot's metadata as JSON-ready data."""
        return {
            "entity": self.entity,
            "as_of": self.as_of.isoformat(),
            "catalog_version": self.catalog_version,
            "snapshot_hash": self.snapshot_hash,
            "profiles": self.profiles,
            "sources": [asdict(s) for s in self.sources],
            "tag_model": self.tag_model,
            "held": self.held,
        }


def _column_bytes(col: pl.Series) -> list[bytes | memoryview]:
    """The canonical bytes of one column: null mask, then values with nulls zeroed."""
    parts: list[bytes | memoryview] = [col.is_null().to_numpy().astype(np.uint8).tobytes()]
    dtype = col.dtype
    if dtype == pl.String:
        filled = col.fill_null("")
        parts.append(filled.str.len_bytes().to_numpy().astype("<u4").tobytes())
        arrow = filled.to_arrow()
        if arrow.type != pa.large_string():
            arrow = arrow.cast(pa.large_string())
        offsets = np.frombuffer(arrow.buffers()[1], dtype="<i8")[
            arrow.offset : arrow.offset + len(arrow) + 1
        ]
        data = arrow.buffers()[2]
        if data is not None and len(offsets):
            parts.append(memoryview(data)[int(offsets[0]) : int(offsets[-1])])
    elif isinstance(dtype, pl.List):
        parts.append(col.list.join("\x1e").fill_null("").str.join("\x1f").item().encode())
    elif dtype == pl.Boolean:
        parts.append(col.fill_null(False).to_numpy().astype(np.uint8).tobytes())
    elif dtype == pl.Date:
        parts.append(col.cast(pl.Int32).fill_null(0).to_numpy().astype("<i4").tobytes())
    elif dtype.is_float():
        parts.append(col.fill_null(0.0).to_numpy().astype("<f8").tobytes())
    elif dtype.is_integer():
        parts.append(col.fill_null(0).to_numpy().astype("<i8").tobytes())
    else:
        parts.append(col.cast(pl.String).fill_null("").str.join("\x1f").item().encode())
    return parts


def canonical_hash(frame: pl.DataFrame) -> str:
    """sha256 of the canonical content of ``frame`` in its row order: for each column, its
    name and dtype, its null mask (one byte per row), then its values with nulls zeroed
    (integers as little-endian int64, floats as float64, dates as int32 day numbers,
    booleans as one byte, strings as uint32 UTF-8 lengths followed by the bytes)."""
    digest = hashlib.sha256()
    digest.update(f"rows={frame.height}\n".encode())
    for name, col in zip(frame.columns, frame.get_columns(), strict=True):
        digest.update(f"{name}:{col.dtype}\n".encode())
        for part in _column_bytes(col):
            digest.update(part)
    return digest.hexdigest()


def _join(parts: list[tuple[str, pl.DataFrame]], *, key: str) -> tuple[pl.DataFrame, list[str]]:
    """Full outer join on ``key``; a field in several parts is coalesced in part order."""
    warnings: list[str] = []
    owners: dict[str, str] = {}
    joined: pl.DataFrame | None = None
    for source, frame in parts:
        renamed = {}
        for col in frame.columns:
            if col == key:
                continue
            if col in owners:
                first = owners[col]
                warnings.append(
                    f"字段 {col} 同时出现在 {first} 与 {source}，"
                    f"以 {first} 为准(其为空时取 {source})"
                )
                renamed[col] = f"{col}__{source}"
            else:
                owners[col] = source
        frame = frame.rename(renamed)
        if joined is None:
            joined = frame
            continue
        joined = joined.join(frame, on=key, how="full", coalesce=True)
        for col, tmp in renamed.items():
            joined = joined.with_columns(pl.coalesce(col, tmp).alias(col)).drop(tmp)
    assert joined is not None
    return joined, warnings


def write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """Write ``path`` through a temporary name in its directory, then rename it into place:
    a reader sees the old file or the whole new one, never a half-written one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(path.parent)  # what writers killed outright left here
    # the temporary name keeps the suffix: writers choose the format by it
    tmp = path.with_name(f"{owned_prefix('tmp')}{uuid.uuid4().hex[:8]}-{path.name}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _held(parts: list[pl.DataFrame], *, key: str) -> pl.DataFrame:
    """One row per held entity: its key and the fields it has UNKNOWN (``HELD_FIELDS``)."""
    if not parts:
        return pl.DataFrame(schema={key: pl.String, HELD_FIELDS: pl.List(pl.String)})
    return (
        pl.concat([p.select(key, "fields") for p in parts])
        .explode("fields")
        .group_by(key)
        .agg(pl.col("fields").unique().sort().alias(HELD_FIELDS))
        .sort(key)
    )


def _held_summary(parts: list[pl.DataFrame], *, entities: int) -> dict[str, Any]:
    """What the run report says about held entities: how many, and why (source -> reason
    code -> entities)."""
    by_source: dict[str, dict[str, int]] = {}
    for part in parts:
        for source, code, n in part.group_by("source", "code").len().sort("code").iter_rows():
            by_source.setdefault(source, {})[code or "unknown"] = n
    return {"entities": entities, "by_source": by_source}


def _sha256_or_empty(path: Path) -> str:
    try:
        return file_sha256(path)
    except OSError:
        return ""


def _unreadable(exc: SourceError, *, entity: str, source: str) -> Validated:
    """A file that cannot be used at all is a refused source (the run then refuses to revoke
    anything that depends on it), not a crash."""
    key = entity_catalog(entity).key
    problem = exc.problem + (f"；应为{exc.expected}" if exc.expected else "")
    rejects = pl.DataFrame(
        [{"source": source, "row_number": None, "key": None, "field": None, "value": None,
          "reason": f"{problem} [unreadable]"}],
        schema=empty_rejects().schema,
    )
    return Validated(
        clean=pl.DataFrame(schema={key: pl.String()}),
        rejects=rejects,
        stats=SourceStats(source=source, rows_read=0, rows_accepted=0, rows_rejected=0,
                          refused=problem),
        warnings=(f"{problem}，整个数据源被拒收",),
    )


def _write_rejects(rejects: pl.DataFrame, path: Path) -> None:
    if path.suffix.lower() == ".csv":
        path.write_bytes(b"\xef\xbb\xbf" + rejects.write_csv().encode())
    else:
        rejects.write_parquet(path)


def build_snapshot(
    sources: Path | list[Path],
    *,
    entity: str,
    as_of: date,
    out: Path,
    rejects: Path | None = None,
    progress: Progress | None = None,
    tag_model: TagModel | Path | None = None,
) -> BuildReport:
    """Validate, join and derive the extracts in ``sources`` (a directory or a list of files,
    named as in ``profiles.sources``) into the Parquet snapshot ``out``; ``tag_model`` (a
    model or its file) infers the chain tags."""
    model = _tag_model(tag_model, entity=entity)
    cat = entity_catalog(entity)
    key = cat.key
    yearly: list[tuple[str, Path]] = []  # yearly extracts (profiles.yearly)
    if isinstance(sources, Path) and sources.is_dir():
        found = find_sources(sources, entity=entity)
        yearly = find_yearly_sources(sources, entity=entity)
        if not found:
            raise SourcesNotFoundError(sources, entity, f"{entity}_<部门>.csv 或 {entity}.csv")
    else:
        paths = [sources] if isinstance(sources, Path) else list(sources)
        found = []
        for p in paths:
            name = source_name(p, entity=entity)
            if (dept := yearly_source(p, entity=entity)) is not None:
                yearly.append((dept, p))
                continue
            if name is None:
                raise SourceError(
                    p.name, "文件名不符合命名规则", expected=f"{entity}_<部门>.csv 或 .parquet"
                )
            found.append((name, p))
    total = len(found) + 2
    reports: list[SourceReport] = []
    all_rejects: list[pl.DataFrame] = [empty_rejects()]
    parts: list[tuple[str, pl.DataFrame]] = []
    warnings: list[str] = []
    held_parts: list[pl.DataFrame] = []
    for i, (name, path) in enumerate(found):
        try:
            extract = read_extract(path)
        except SourceError as exc:
            result = _unreadable(exc, entity=entity, source=name)
            encoding = "unreadable"
        else:
            encoding = extract.encoding
            result = validate_source(extract.frame, entity=entity, source=name,
                                     rows=extract.rows, bad_lines=extract.bad_lines)
        stats: SourceStats = result.stats
        reports.append(
            SourceReport(
                source=name,
                file=path.name,
                sha256=_sha256_or_empty(path),
                encoding=encoding,
                rows_read=stats.rows_read,
                rows_accepted=stats.rows_accepted,
                rows_rejected=stats.rows_rejected,
                duplicates_merged=stats.duplicates_merged,
                ignored_columns=stats.ignored_columns,
                refused=stats.refused,
            )
        )
        warnings.extend(f"{name}: {w}" for w in result.warnings)
        all_rejects.append(result.rejects)
        if stats.refused is None:
            parts.append((name, result.clean))
        if result.held is not None and result.held.height:
            fields = sorted(c for c in result.clean.columns if c != key)
            held_parts.append(result.held.with_columns(
                pl.lit(name).alias("source"), pl.lit(fields, pl.List(pl.String)).alias("fields")))
        if progress:
            progress("read", i + 1, total)
    joined, join_warnings = (
        _join(parts, key=key) if parts else (pl.DataFrame(schema={key: pl.String()}), [])
    )
    warnings.extend(join_warnings)
    years = pl.DataFrame(schema={key: pl.String()})
    for dept, path in yearly:
        name = f"yearly_{dept}"
        try:
            extract = read_extract(path)
        except SourceError as exc:
            refused = _unreadable(exc, entity=entity, source=name)
            reports.append(SourceReport(source=name, file=path.name, sha256="",
                                        encoding="unreadable", rows_read=0, rows_accepted=0,
                                        rows_rejected=0, duplicates_merged=0,
                                        ignored_columns=(), refused=refused.stats.refused))
            all_rejects.append(refused.rejects)
            warnings.extend(f"{name}: {w}" for w in refused.warnings)
            continue
        checked = validate_yearly(extract.frame, entity=entity, source=name, rows=extract.rows,
                                  bad_lines=extract.bad_lines)
        st = checked.stats
        reports.append(SourceReport(
            source=name, file=path.name, sha256=_sha256_or_empty(path),
            encoding=extract.encoding, rows_read=st.rows_read, rows_accepted=st.rows_accepted,
            rows_rejected=st.rows_rejected, duplicates_merged=st.duplicates_merged,
            ignored_columns=st.ignored_columns, refused=st.refused))
        warnings.extend(f"{name}: {w}" for w in checked.warnings)
        all_rejects.append(checked.rejects)
        if checked.held.height:
            held_parts.append(checked.held.with_columns(pl.lit(name).alias("source")))
        years, clash = join_yearly(years, checked.wide, key=key)
        warnings.extend(f"{name}: {w}" for w in clash)
    if years.height:  # a firm known only from its yearly figures is a profile too
        joined = joined.join(years.select(key), on=key, how="full", coalesce=True)
    held = _held(held_parts, key=key)
    if held.height:
        # a held entity is a profile even when its only row was quarantined
        joined = joined.join(held.select(key), on=key, how="full", coalesce=True)
    snapshot = derive(complete(joined, entity=entity), entity=entity, as_of=as_of).collect()
    if years.width > 1:
        snapshot = snapshot.join(years, on=key, how="left")
    if held.height:
        snapshot = snapshot.join(held.select(key, HELD_FIELDS), on=key, how="left")
    if years.width > 1:
        snapshot = zero_before_founding(snapshot)
    snapshot = snapshot.sort(key)
    tag_meta: dict[str, object] | None = None
    if model is not None:
        snapshot = model.apply(snapshot)
        tag_meta = {
            "version": model.version,
            "file": tag_model.name if isinstance(tag_model, Path) else None,
            "unknown_share": model.unknown_shares(snapshot),
        }
    if progress:
        progress("join", len(found) + 1, total)
    rejected = pl.concat(all_rejects)
    report = BuildReport(
        entity=entity,
        as_of=as_of,
        out=out,
        rejects=rejects,
        profiles=snapshot.height,
        rejected_lines=rejected.height,
        snapshot_hash=canonical_hash(snapshot),
        catalog_version=load_catalog().version,
        sources=tuple(reports),
        warnings=tuple(warnings),
        tag_model=tag_meta,
        held=_held_summary(held_parts, entities=held.height),
    )
    meta = json.dumps(report.metadata(), ensure_ascii=False, sort_keys=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(out, lambda tmp: snapshot.write_parquet(tmp, metadata={META_KEY: meta}))
    write_atomically(out.with_name(out.name + ".meta.json"),
                     lambda tmp: tmp.write_text(meta + "\n", encoding="utf-8"))
    if rejects is not None:
        write_atomically(rejects, lambda tmp: _write_rejects(rejected, tmp))
    if progress:
        progress("write", total, total)
    return report


def _tag_model(model: TagModel | Path | None, *, entity: str) -> TagModel | None:
    if model is None:
        return None
    from profiles.tags.training import load_tag_model, require_enterprise

    require_enterprise(entity)
    return load_tag_model(model) if isinstance(model, Path) else model


def read_snapshot_metadata(path: Path | io.BytesIO) -> dict[str, object]:
    """The metadata stored in a snapshot's Parquet key-value metadata."""
    raw = pl.read_parquet_metadata(path)[META_KEY]
    data: dict[str, object] = json.loads(raw)
    return data


def read_snapshot(path: Path) -> tuple[pl.DataFrame, dict[str, object]]:
    """A snapshot file's frame and metadata, from one opening of the file: a rebuild that
    renames a new snapshot over ``path`` meanwhile can neither mix the two files (polars
    opens a path more than once) nor give one file's metadata with the other's rows. The
    metadata is empty for a Parquet file built elsewhere."""
    data, meta = _snapshot_bytes(path)
    return pl.read_parquet(data), meta


def read_built_snapshot(path: Path) -> tuple[pl.DataFrame, dict[str, object]] | None:
    """:func:`read_snapshot` for a snapshot built here; None, without decoding its rows, for
    a Parquet file built elsewhere (no snapshot metadata)."""
    data, meta = _snapshot_bytes(path)
    return (pl.read_parquet(data), meta) if meta else None


def _snapshot_bytes(path: Path) -> tuple[io.BytesIO, dict[str, object]]:
    data = io.BytesIO(path.read_bytes())
    try:
        meta = read_snapshot_metadata(data)
    except KeyError:
        meta = {}
    data.seek(0)
    return data, meta
