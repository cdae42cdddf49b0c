"""Snapshots are written under a temporary name and renamed into place: a reader never sees
a half-written file, even with two builds of one date racing, and the nightly pass files each
snapshot under its content hash so that a run reads the very snapshot it hashed."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import polars as pl
import pytest

from api.scheduler import file_snapshot
from profiles.build import build_snapshot, canonical_hash, read_snapshot_metadata, write_atomically
from profiles.synth import synthesize

AS_OF = dt.date(2025, 11, 3)


def test_racing_builds_leave_one_whole_snapshot(tmp_path: Path) -> None:
    a = synthesize(tmp_path / "a", enterprises=300, persons=0, seed=1).files[0].path.parent
    b = synthesize(tmp_path / "b", enterprises=300, persons=0, seed=2).files[0].path.parent
    out = tmp_path / "snap.parquet"
    seen: list[str] = []
    stop = threading.Event()

    def read_while_building() -> None:
        while not stop.is_set():
            if out.exists():
                frame = pl.read_parquet(out)  # never "must end with PAR1"
                seen.append(canonical_hash(frame))

    reader = threading.Thread(target=read_while_building)
    reader.start()
    try:
        builders = [threading.Thread(target=build_snapshot, args=(src,),
                                     kwargs={"entity": "enterprise", "as_of": AS_OF, "out": out})
                    for src in (a, b, a, b)]
        for t in builders:
            t.start()
        for t in builders:
            t.join()
    finally:
        stop.set()
        reader.join()
    final = pl.read_parquet(out)
    assert read_snapshot_metadata(out)["snapshot_hash"] == canonical_hash(final)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_a_failed_write_leaves_the_old_file_whole(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_text("old")

    def half(tmp: Path) -> None:
        tmp.write_text("ha")
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_atomically(path, half)
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["x.txt"]


def test_the_nightly_pass_files_a_snapshot_under_its_content_hash(tmp_path: Path) -> None:
    src = synthesize(tmp_path / "s", enterprises=20, persons=0, seed=1).files[0].path.parent
    building = tmp_path / ".build-1-x-enterprise.parquet"
    built = build_snapshot(src, entity="enterprise", as_of=AS_OF, out=building)
    final = file_snapshot(building, entity="enterprise", as_of=AS_OF,
                          content_hash=built.snapshot_hash)
    assert final.name == f"enterprise-{AS_OF.isoformat()}-{built.snapshot_hash[:12]}.parquet"
    assert not building.exists() and final.with_name(final.name + ".meta.json").exists()
