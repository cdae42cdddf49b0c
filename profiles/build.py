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
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
import pyarrow as pa

from profiles.catalog import load_catalog
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
from profiles.sources import file_sha256, find_sources, read_source, source_name

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


def _write_rejects(rejects: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
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
    if isinstance(sources, Path) and sources.is_dir():
        found = find_sources(sources, entity=entity)
        if not found:
            raise SourcesNotFoundError(sources, entity, f"{entity}_<部门>.csv 或 {entity}.csv")
    else:
        paths = [sources] if isinstance(sources, Path) else list(sources)
        found = []
        for p in paths:
            name = source_name(p, entity=entity)
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
    for i, (name, path) in enumerate(found):
        frame, encoding = read_source(path)
        result: Validated = validate_source(frame, entity=entity, source=name)
        stats: SourceStats = result.stats
        reports.append(
            SourceReport(
                source=name,
                file=path.name,
                sha256=file_sha256(path),
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
        if progress:
            progress("read", i + 1, total)
    joined, join_warnings = (
        _join(parts, key=key) if parts else (pl.DataFrame(schema={key: pl.String()}), [])
    )
    warnings.extend(join_warnings)
    snapshot = derive(complete(joined, entity=entity), entity=entity, as_of=as_of).collect()
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
    )
    meta = json.dumps(report.metadata(), ensure_ascii=False, sort_keys=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    snapshot.write_parquet(out, metadata={META_KEY: meta})
    out.with_name(out.name + ".meta.json").write_text(meta + "\n", encoding="utf-8")
    if rejects is not None:
        _write_rejects(rejected, rejects)
    if progress:
        progress("write", total, total)
    return report


def _tag_model(model: TagModel | Path | None, *, entity: str) -> TagModel | None:
    if model is None:
        return None
    from profiles.tags.training import load_tag_model, require_enterprise

    require_enterprise(entity)
    return load_tag_model(model) if isinstance(model, Path) else model


def read_snapshot_metadata(path: Path) -> dict[str, object]:
    """The metadata stored in a snapshot's Parquet key-value metadata."""
    raw = pl.read_parquet_metadata(path)[META_KEY]
    data: dict[str, object] = json.loads(raw)
    return data
