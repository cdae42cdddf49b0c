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
from profiles.build import (
    build_snapshot,
    canonical_hash,
    read_snapshot,
    read_snapshot_metadata,
    write_atomically,
)
from profiles.pin import pinned
from profiles.synth import synthesize

AS_OF = dt.date(2025, 11, 3)


def test_racing_builds_leave_one_whole_snapshot(tmp_path: Path) -> None:
    a = synthesize(tmp_path / "a", enterprises=300, persons=0, seed=1).files[0].path.parent
    b = synthesize(tmp_path / "b", enterprises=300, persons=0, seed=2).files[0].path.parent
    out = tmp_path / "snap.parquet"
    seen: list[str] = []
    failed: list[BaseException] = []
    stop = threading.Event()

    def read_while_building() -> None:
        while not stop.is_set():
            if out.exists():
                try:  # never "must end with PAR1", never one file's footer and another's rows
                    frame, meta = read_snapshot(out)
                    seen.append(canonical_hash(frame))
                    assert meta["snapshot_hash"] == seen[-1]
                except BaseException as exc:  # the thread reports to the test
                    failed.append(exc)
                    return

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
    assert not failed, failed
    final = pl.read_parquet(out)
    assert read_snapshot_metadata(out)["snapshot_hash"] == canonical_hash(final)
    built = {build_snapshot(src, entity="enterprise", as_of=AS_OF,
                            out=tmp_path / f"{src.name}.parquet").snapshot_hash for src in (a, b)}
    assert seen and set(seen) <= built, "a reader saw a snapshot no build wrote"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_a_reader_sees_one_whole_snapshot_while_it_is_replaced(tmp_path: Path) -> None:
    """Two built snapshots renamed in turn over one path as fast as the file system allows:
    each read is one of them, whole, with its own metadata."""
    built = {}
    for seed in (1, 2):
        src = synthesize(tmp_path / f"s{seed}", enterprises=200, persons=0,
                         seed=seed).files[0].path.parent
        report = build_snapshot(src, entity="enterprise", as_of=AS_OF,
                                out=tmp_path / f"{seed}.parquet")
        built[report.snapshot_hash] = (tmp_path / f"{seed}.parquet").read_bytes()
    out = tmp_path / "snap.parquet"
    out.write_bytes(next(iter(built.values())))
    stop = threading.Event()

    def replace_in_turn() -> None:
        while not stop.is_set():
            for data in built.values():
                write_atomically(out, lambda tmp, data=data: tmp.write_bytes(data))

    writer = threading.Thread(target=replace_in_turn)
    writer.start()
    seen = []
    try:
        for _ in range(100):
            frame, meta = read_snapshot(out)
            assert meta["snapshot_hash"] == canonical_hash(frame)
            seen.append(meta["snapshot_hash"])
    finally:
        stop.set()
        writer.join()
    assert set(seen) == set(built)  # both were read: the reads did race the renames


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


@pytest.mark.parametrize("link", ["hard link", "copy"])
def test_a_pinned_snapshot_stays_the_file_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, link: str
) -> None:
    if link == "copy":  # another file system: no hard link can be made
        def cross_device(*_: object) -> None:
            raise OSError(18, "Invalid cross-device link")

        monkeypatch.setattr("profiles.pin.os.link", cross_device)
    path = tmp_path / "snap.parquet"
    pl.DataFrame({"uscc": ["old"]}).write_parquet(path)
    with pinned(path) as pin:
        write_atomically(path, lambda tmp: pl.DataFrame({"uscc": ["new"]}).write_parquet(tmp))
        assert pin.name == path.name and pin != path
        assert pl.read_parquet(pin)["uscc"].to_list() == ["old"]
    assert pl.read_parquet(path)["uscc"].to_list() == ["new"]
    assert not pin.exists() and [p.name for p in tmp_path.iterdir()] == ["snap.parquet"]


def test_a_dataset_replaced_while_it_is_pinned_is_pinned_again_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild that replaces the dataset's folder while its files are being linked is
    noticed: the pin is made again, of the new dataset, never of parts of both."""
    import os

    from profiles.partitions import read_manifest, write_dataset

    old = pl.DataFrame({"uscc": [f"E{i:03d}" for i in range(60)], "n": list(range(60))})
    new = old.with_columns(pl.col("n") + 1000)
    dataset = tmp_path / "snap"
    write_dataset([old], dataset, key="uscc", partitions=3)
    real = os.link
    rebuilds = []

    def rebuilt_midway(src: str, dst: str) -> None:
        real(src, dst)
        if not rebuilds:  # after the first file is linked, a rebuild lands
            rebuilds.append(write_dataset([new], dataset, key="uscc", partitions=3))

    monkeypatch.setattr("profiles.pin.os.link", rebuilt_midway)
    with pinned(dataset) as pin:
        assert pin != dataset and len(rebuilds) == 1
        assert read_manifest(pin) == read_manifest(dataset) == rebuilds[0]
        parts = sorted(pin.glob("part=*/*.parquet"))
        assert pl.read_parquet(parts).sort("uscc").equals(new)
    assert [p.name for p in tmp_path.iterdir()] == ["snap"]


@pytest.mark.parametrize("kind", ["file", "dataset"])
def test_a_pin_left_by_a_killed_run_is_removed_by_the_next(tmp_path: Path, kind: str) -> None:
    """A run killed outright (SIGKILL) cannot remove its pin, which holds the old snapshot's
    disk space; the next pin beside it removes it. A live run's pin and another host's are
    kept."""
    import signal
    import subprocess
    import sys

    from profiles.leftovers import remove_leftovers
    from profiles.partitions import write_dataset

    frame = pl.DataFrame({"uscc": [f"E{i:03d}" for i in range(30)], "n": list(range(30))})
    if kind == "file":
        snapshot = tmp_path / "snap.parquet"
        frame.write_parquet(snapshot)
    else:
        snapshot = tmp_path / "snap"
        write_dataset([frame], snapshot, key="uscc", partitions=3)
    hold = (
        "import sys, time\nfrom pathlib import Path\nfrom profiles.pin import pinned\n"
        "with pinned(Path(sys.argv[1])) as pin:\n    print(pin, flush=True)\n    time.sleep(600)\n"
    )
    killed = subprocess.Popen([sys.executable, "-c", hold, str(snapshot)], stdout=subprocess.PIPE,
                              text=True)
    live = subprocess.Popen([sys.executable, "-c", hold, str(snapshot)], stdout=subprocess.PIPE,
                            text=True)
    try:
        assert killed.stdout is not None and live.stdout is not None
        killed_pin = Path(killed.stdout.readline().strip()).parent
        live_pin = Path(live.stdout.readline().strip()).parent
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
        other_host = tmp_path / f".pin-elsewhere-{killed.pid}-abc"
        other_host.mkdir()
        assert killed_pin.exists() and killed_pin.name.startswith(".pin-")

        with pinned(snapshot) as pin:
            assert pin.exists() and pin.parent.name.startswith(".pin-")
            assert not killed_pin.exists()
            assert live_pin.exists() and other_host.exists()
        assert not pin.parent.exists()
        assert remove_leftovers(tmp_path) == []  # nothing left of this host's dead runs
        names = sorted(p.name for p in tmp_path.iterdir())
        assert names == sorted([snapshot.name, live_pin.name, other_host.name])
    finally:
        live.kill()
        killed.kill()
        live.wait(timeout=30)


def test_a_plain_parquet_table_is_not_taken_for_a_built_snapshot_nor_decoded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``mianshen match`` on a Parquet table built elsewhere reads it as a raw table; finding
    that it is no snapshot must not decode its rows first (they would be decoded twice)."""
    import json

    from profiles.build import META_KEY, read_built_snapshot

    plain = tmp_path / "plain.parquet"
    pl.DataFrame({"uscc": ["E1", "E2"]}).write_parquet(plain)
    built = tmp_path / "built.parquet"
    pl.DataFrame({"uscc": ["E1"]}).write_parquet(
        built, metadata={META_KEY: json.dumps({"entity": "enterprise"})})
    decoded: list[object] = []
    real = pl.read_parquet

    def counted(source: object, *args: object, **kwargs: object) -> pl.DataFrame:
        decoded.append(source)
        return real(source, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("profiles.build.pl.read_parquet", counted)
    assert read_built_snapshot(plain) is None and decoded == []
    frame, meta = read_built_snapshot(built) or (None, None)
    assert frame is not None and frame["uscc"].to_list() == ["E1"]
    assert meta == {"entity": "enterprise"} and len(decoded) == 1


@pytest.mark.parametrize("kind", ["file", "dataset"])
def test_a_rebuild_killed_while_writing_leaves_nothing_the_next_write_keeps(
    tmp_path: Path, kind: str
) -> None:
    """A build killed outright mid-write leaves its temporary file (or a dataset's work
    folder); the next write beside it removes it, and the snapshot it was replacing is
    intact meanwhile."""
    import signal
    import subprocess
    import sys

    from profiles.partitions import read_manifest, write_dataset

    frame = pl.DataFrame({"uscc": [f"E{i:03d}" for i in range(30)], "n": list(range(30))})
    target = tmp_path / ("snap.parquet" if kind == "file" else "snap")
    if kind == "file":
        write_atomically(target, frame.write_parquet)
    else:
        write_dataset([frame], target, key="uscc", partitions=3)
    # the writer's frames never end: it is killed while its temporary name exists
    slow = (
        "import sys, time\nfrom pathlib import Path\nimport polars as pl\n"
        "from profiles.build import write_atomically\n"
        "from profiles.partitions import write_dataset\n"
        "target = Path(sys.argv[1])\n"
        "def chunks():\n"
        "    yield pl.DataFrame({'uscc': ['X1'], 'n': [1]})\n"
        "    print('writing', flush=True)\n    time.sleep(600)\n"
        "def hang(tmp):\n    tmp.write_bytes(b'half')\n    print('writing', flush=True)\n"
        "    time.sleep(600)\n"
        "if sys.argv[2] == 'file':\n    write_atomically(target, hang)\n"
        "else:\n    write_dataset(chunks(), target, key='uscc', partitions=3)\n"
    )
    writer = subprocess.Popen([sys.executable, "-c", slow, str(target), kind],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "writing"
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
    finally:
        writer.kill()
    left = [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]
    assert len(left) == 1 and str(writer.pid) in left[0].name
    if kind == "file":  # the snapshot it was replacing is whole
        assert pl.read_parquet(target).equals(frame)
        write_atomically(target, frame.head(3).write_parquet)
        assert pl.read_parquet(target).height == 3
    else:
        assert read_manifest(target).rows and sum(read_manifest(target).rows) == 30
        write_dataset([frame.head(3)], target, key="uscc", partitions=3)
        assert sum(read_manifest(target).rows) == 3
    assert [p.name for p in tmp_path.iterdir()] == [target.name]
