"""A snapshot as a Parquet dataset partitioned by a hash of the key (DESIGN §6).

Layout of a dataset directory::

    part=00000/data.parquet   the rows whose key hashes to partition 0, sorted by key
    part=00001/data.parquet
    ...
    _snapshot.json            key, partitions, rows and content hash per partition, and the
                              snapshot hash (sha256 over the partitions' hashes, in order)

The hash of a key is FNV-1a of its UTF-8 bytes (:func:`bucket_of`), computed by us, so it
is the same in every process, on every machine and in every library version: the run splits
the store's entitlements with it and finds each entity in the partition its snapshot row is
in. A dataset is written into a temporary directory beside its
destination and renamed into place when complete: an interrupted write leaves the previous
dataset as it was.

>>> import polars as pl
>>> bucket_of(pl.Series(["A", "B", "AB", "", None]), 7).to_list()
[3, 6, 4, 1, 1]
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import polars as pl

from profiles.leftovers import owned_prefix, remove_leftovers

MANIFEST = "_snapshot.json"
FORMAT = "mianshen-snapshot-dataset/1"
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


class PartitionError(Exception):
    """Root error of partitioned snapshots."""


def key_hashes(keys: pl.Series) -> np.ndarray:
    """FNV-1a (64-bit) of each key's UTF-8 bytes, finished by murmur3's fmix64 so that every
    bit depends on every byte; a null key hashes as the empty string. Vectorised over the
    Arrow buffers: one numpy step per byte position."""
    import pyarrow as pa

    arr = keys.cast(pl.String).fill_null("").to_arrow()
    if isinstance(arr, pa.ChunkedArray):
        arr = pa.concat_arrays(arr.chunks) if arr.num_chunks else pa.array([], pa.string())
    if arr.type != pa.large_string():
        arr = arr.cast(pa.large_string())
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset: arr.offset + n + 1]
    data = (np.frombuffer(arr.buffers()[2], dtype=np.uint8) if arr.buffers()[2] is not None
            else np.zeros(0, np.uint8))
    lengths = np.diff(offsets)
    h = np.full(n, _FNV_OFFSET, dtype=np.uint64)
    if n and (lengths == lengths[0]).all():  # one width (ID numbers, USCCs): a byte matrix
        width = int(lengths[0])
        matrix = data[offsets[0]: offsets[0] + n * width].reshape(n, width)
        for j in range(width):
            h = (h ^ matrix[:, j]) * _FNV_PRIME
    else:
        for j in range(int(lengths.max()) if n else 0):
            live = np.flatnonzero(lengths > j)
            h[live] = (h[live] ^ data[offsets[live] + j]) * _FNV_PRIME
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    return h


def bucket_of(keys: pl.Series, partitions: int) -> pl.Series:
    """The partition (``UInt32``, 0 ≤ p < ``partitions``) of each key."""
    if partitions < 1:
        raise PartitionError(f"expected at least 1 partition, got {partitions}")
    return pl.Series("partition", (key_hashes(keys) % np.uint64(partitions)).astype(np.uint32))


@dataclass(frozen=True)
class Manifest:
    key: str
    partitions: int
    rows: list[int]
    part_hashes: list[str]
    snapshot_hash: str
    metadata: dict[str, object]
    format: str = FORMAT


def partition_path(directory: Path, k: int) -> Path:
    return directory / f"part={k:05d}" / "data.parquet"


def is_dataset(path: Path) -> bool:
    return path.is_dir() and (path / MANIFEST).exists()


def read_manifest(directory: Path) -> Manifest:
    try:
        data = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PartitionError(f"expected a snapshot dataset with {MANIFEST} at {directory}, "
                             f"could not read it: {exc}") from exc
    if data.get("format") != FORMAT:
        raise PartitionError(f"expected format {FORMAT!r} in {directory / MANIFEST}, got "
                             f"{data.get('format')!r}")
    return Manifest(**data)


def combined_hash(part_hashes: list[str], *, key: str) -> str:
    """The snapshot hash: sha256 over the key name, the partition count and each
    partition's content hash, in partition order."""
    body = json.dumps({"key": key, "parts": part_hashes}, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def _part_hash(frame: pl.DataFrame) -> str:
    from profiles.build import canonical_hash

    return canonical_hash(frame)


def write_dataset(
    chunks: Iterable[pl.DataFrame],
    directory: Path,
    *,
    key: str,
    partitions: int,
    metadata: dict[str, object] | None = None,
) -> Manifest:
    """Write frames (any number, any size each) as a dataset of ``partitions`` partitions.
    Each chunk is split by partition into staging files; then each partition is read,
    sorted by key, hashed and written: memory is bounded by a chunk plus a partition."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(directory.parent)  # what writers killed outright left here
    work = directory.with_name(f"{owned_prefix('tmp')}{uuid.uuid4().hex[:8]}-{directory.name}")
    work.mkdir()
    try:
        schema: pl.Schema | None = None
        for j, chunk in enumerate(chunks):
            schema = schema or chunk.schema
            tagged = chunk.with_columns(bucket_of(chunk[key], partitions).alias("__part"))
            for (k,), part in tagged.partition_by("__part", as_dict=True).items():
                stage = work / f"part={int(k):05d}"
                stage.mkdir(exist_ok=True)
                part.drop("__part").write_parquet(stage / f"stage-{j:06d}.parquet")
        if schema is None:
            raise PartitionError(f"expected at least one frame to write at {directory}, got none")
        rows, hashes = [], []
        for k in range(partitions):
            target = partition_path(work, k)
            target.parent.mkdir(exist_ok=True)
            staged = sorted(target.parent.glob("stage-*.parquet"))
            frame = (pl.read_parquet(staged).sort(key) if staged
                     else pl.DataFrame(schema=schema))
            if frame[key].is_duplicated().any():
                raise PartitionError(f"expected each {key} once in the snapshot, got "
                                     f"duplicates in partition {k}")
            frame.write_parquet(target)
            for s in staged:
                s.unlink()
            rows.append(frame.height)
            hashes.append(_part_hash(frame))
        manifest = Manifest(key=key, partitions=partitions, rows=rows, part_hashes=hashes,
                            snapshot_hash=combined_hash(hashes, key=key),
                            metadata=dict(metadata or {}))
        (work / MANIFEST).write_text(json.dumps(asdict(manifest), ensure_ascii=False,
                                                indent=1), encoding="utf-8")
        old = None
        if directory.exists():
            old = directory.with_name(
                f"{owned_prefix('old')}{uuid.uuid4().hex[:8]}-{directory.name}")
            os.replace(directory, old)
        os.replace(work, directory)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return manifest
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def partition_file(snapshot: Path, directory: Path, *, key: str, partitions: int,
                   chunk_rows: int = 1_000_000) -> Manifest:
    """A one-file snapshot rewritten as a dataset, read ``chunk_rows`` at a time."""
    lf = pl.scan_parquet(snapshot)
    total = lf.select(pl.len()).collect().item()

    def chunks() -> Iterable[pl.DataFrame]:
        for start in range(0, max(total, 1), chunk_rows):
            yield lf.slice(start, chunk_rows).collect()

    try:
        from profiles.build import read_snapshot_metadata

        meta: dict[str, object] = dict(read_snapshot_metadata(snapshot))
    except (KeyError, OSError, ValueError):
        meta = {}
    meta["partitioned_from"] = snapshot.name
    meta.pop("snapshot_hash", None)  # the dataset's hash is its partitions' (manifest)
    return write_dataset(chunks(), directory, key=key, partitions=partitions, metadata=meta)


def scan_snapshot(path: Path) -> pl.LazyFrame:
    """A snapshot, one file or a dataset, as one lazy frame."""
    path = Path(path)
    if path.is_dir():
        return pl.scan_parquet(str(path / "part=*" / "data.parquet"), hive_partitioning=False)
    return pl.scan_parquet(path)


def scan_keys(path: Path, *, key: str, keys: Iterable[str]) -> pl.LazyFrame:
    """The rows whose ``key`` column is one of ``keys``, lazily: in a dataset only the
    partitions those keys hash to are read (a partition's outbox planning reads its own
    file, not the whole population)."""
    path = Path(path)
    wanted = sorted(set(keys))
    if not is_dataset(path):
        return scan_snapshot(path).filter(pl.col(key).cast(pl.String).is_in(wanted))
    manifest = read_manifest(path)
    parts = sorted(set(bucket_of(pl.Series(wanted, dtype=pl.String),
                                 manifest.partitions).to_list()))
    if not parts:
        return pl.scan_parquet(str(partition_path(path, 0))).head(0)
    files = [str(partition_path(path, k)) for k in parts]
    return pl.scan_parquet(files, hive_partitioning=False).filter(
        pl.col(key).cast(pl.String).is_in(wanted))
