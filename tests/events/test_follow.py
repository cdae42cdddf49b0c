"""A live event stream: the worker follows a JSON-lines file as it is appended to, writes
each event's changes soon after it arrives, and ends (exit 0) on SIGTERM; the store then
holds what a worker over the finished file writes."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from matcher.events.errors import StreamReplacedError
from matcher.events.follow import LineFollower
from matcher.events.worker import read_checkpoint
from tests.events.test_worker import (
    command,
    published_db,
    published_dbs,
    store_state,
    worker_env,
    write_inputs,
)


def test_only_complete_lines_are_read_as_they_are_appended(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b'{"a": 1}\n{"b"')
    follower = LineFollower(path)
    assert follower.lines == ['{"a": 1}']  # the byte-order mark dropped, the half line held
    with path.open("ab") as f:
        f.write(b': 2}\r\n\xff\xfe\n')
    assert follower.read() == 2
    assert follower.lines[1] == '{"b": 2}'
    assert "不是 UTF-8" in follower.lines[2]  # kept as a line the worker refuses, not decoded
    assert follower.read() == 0


def test_wait_returns_on_new_lines_and_false_once_stopped(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("", encoding="utf-8")
    follower = LineFollower(path, poll_s=0.001)
    writer = threading.Timer(0.05, lambda: path.write_text('{"x": 1}\n', encoding="utf-8"))
    writer.start()
    assert follower.wait() and follower.lines == ['{"x": 1}']
    threading.Timer(0.05, follower.stop).start()
    assert follower.wait() is False


def test_a_rotated_file_is_read_to_its_end_then_refused(tmp_path: Path) -> None:
    """Renamed away (logrotate's ``create``) and a new file put in its place: the lines
    appended to the old file before the rename are still read (the follower holds it open),
    then the stream stops with the reason - the new file's first line is never read as
    line 3, and nothing is skipped."""
    path = tmp_path / "events.jsonl"
    path.write_text('{"a": 1}\n', encoding="utf-8")
    follower = LineFollower(path)
    with path.open("a", encoding="utf-8") as f:
        f.write('{"b": 2}\n{"c": ')  # appended just before the rotation, one line unfinished
    path.rename(tmp_path / "events.jsonl.1")
    path.write_text('{"new": 1}\n', encoding="utf-8")
    assert follower.read() == 1 and follower.lines == ['{"a": 1}', '{"b": 2}']
    with pytest.raises(StreamReplacedError, match="已被替换或轮换") as err:
        follower.read()
    assert "已读到第 2 行" in str(err.value) and "不完整" in str(err.value)
    assert "--checkpoint" in str(err.value)
    follower.close()


def test_a_file_truncated_in_place_is_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text('{"a": 1}\n{"b": 2}\n', encoding="utf-8")
    follower = LineFollower(path, poll_s=0.001)
    path.write_text('{"x": 1}\n', encoding="utf-8")  # copytruncate: shorter than what was read
    with pytest.raises(StreamReplacedError, match="被截断"):
        follower.wait()
    follower.close()


@contextlib.contextmanager
def _running(argv: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """A worker (or supervisor) process, killed on the way out if it still runs."""
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()


def _sigterm(process: subprocess.Popen[bytes]) -> tuple[int, str, str]:
    """SIGTERM, then its exit status and output."""
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    return process.returncode, out.decode(), err.decode()


def _wait_for(predicate, seconds: float = 120.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.slow
def test_a_following_worker_writes_events_as_they_arrive_and_stops_on_sigterm(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from api.settings import get_settings

    data, env = worker_env(tmp_path, monkeypatch)
    profiles, finished, total = write_inputs(tmp_path)
    whole, live = tmp_path / "whole", tmp_path / "live"
    whole_url, live_url = published_dbs(tmp_path, data, "whole", "live")
    subprocess.run(command(profiles, finished, whole_url, whole / "cp", 0), env=env,
                   check=True, capture_output=True)

    text = finished.read_bytes()
    stream = live / "events.jsonl"
    stream.write_bytes(b"")
    with _running([*command(profiles, stream, live_url, live / "cp", 0), "--follow"],
                  env) as worker:
        # appended in pieces, one of them cut in the middle of a line
        lines = text.splitlines(keepends=True)
        pieces = [b"".join(lines[:7]), b"".join(lines[7:20])[:-9], b"".join(lines[7:20])[-9:],
                  b"".join(lines[20:])]
        with stream.open("ab") as f:
            for n, piece in enumerate(pieces):
                f.write(piece)
                f.flush()
                covered = len(b"".join(pieces[:n + 1]).splitlines())
                if n == 1:
                    covered -= 1  # the last line is not complete yet: not read
                    time.sleep(0.3)
                    assert read_checkpoint(live / "cp") <= covered
                    continue
                # each arrival is written without waiting for more lines (or for the end)
                assert _wait_for(lambda c=covered: read_checkpoint(live / "cp") == c), (
                    n, read_checkpoint(live / "cp"))
        code, out, err = _sigterm(worker)
    assert code == 0, err
    assert "跟随事件文件" in out and f"写库 {total} 条" in out
    assert read_checkpoint(live / "cp") == total
    # the same entitlements and messages as over the finished file; only the run ids of the
    # batches differ (cut where the stream paused)
    (whole_ents, whole_msgs), (live_ents, live_msgs) = store_state(whole_url), \
        store_state(live_url)
    assert whole_ents and whole_msgs
    assert [e[:-1] for e in live_ents] == [e[:-1] for e in whole_ents]
    assert sorted(m[1:] for m in live_msgs) == sorted(m[1:] for m in whole_msgs)
    get_settings.cache_clear()


@pytest.mark.slow
def test_serve_follow_passes_sigterm_to_its_worker_and_ends_normally(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``events serve --follow``: the supervisor's worker follows the file; SIGTERM to the
    supervisor reaches the worker, which writes what has arrived and exits normally (no
    restart), so the supervisor ends too."""
    import sys

    from api.settings import get_settings
    from tests.events.test_worker import AS_OF

    data, env = worker_env(tmp_path, monkeypatch)
    profiles, finished, total = write_inputs(tmp_path)
    url = published_db(tmp_path, data)
    stream = tmp_path / "stream.jsonl"
    stream.write_bytes(b"")
    with _running([sys.executable, "-c", "from api.cli import main; main()", "events",
                   "serve", "--entity", "enterprise", "--profiles", str(profiles), "--events",
                   str(stream), "--as-of", AS_OF, "--database", url, "--checkpoint",
                   str(tmp_path / "cp"), "--follow"], env) as serve:
        stream.write_bytes(finished.read_bytes())
        assert _wait_for(lambda: read_checkpoint(tmp_path / "cp") == total)
        code, out, err = _sigterm(serve)
    assert code == 0, err
    assert f"写库 {total} 条" in out and "子进程重启 0 次" in out
    assert store_state(url)[0]
    get_settings.cache_clear()


@pytest.mark.slow
def test_serve_follow_stops_on_a_rotated_file_with_every_event_it_read_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The operator's journey when the event file is rotated under a running ``events serve
    --follow``: the events appended before the rotation are written and checkpointed, the
    worker stops with the reason in Chinese (exit 3) and the supervisor does not restart it
    (a restart would read the new file as the old one's first lines); the store then holds
    exactly what a worker over the old file writes."""
    import sys

    from api.settings import get_settings
    from tests.events.test_worker import AS_OF

    data, env = worker_env(tmp_path, monkeypatch)
    profiles, finished, total = write_inputs(tmp_path)
    whole_url, url = published_dbs(tmp_path, data, "whole", "live")
    subprocess.run(command(profiles, finished, whole_url, tmp_path / "whole" / "cp", 0),
                   env=env, check=True, capture_output=True)
    stream = tmp_path / "stream.jsonl"
    lines = finished.read_bytes().splitlines(keepends=True)
    stream.write_bytes(b"".join(lines[:10]))
    with _running([sys.executable, "-c", "from api.cli import main; main()", "events",
                   "serve", "--entity", "enterprise", "--profiles", str(profiles), "--events",
                   str(stream), "--as-of", AS_OF, "--database", url, "--checkpoint",
                   str(tmp_path / "cp"), "--follow"], env) as serve:
        assert _wait_for(lambda: read_checkpoint(tmp_path / "cp") == 10)
        with stream.open("ab") as f:  # the rest, then rotated at once
            f.write(b"".join(lines[10:]))
        stream.rename(tmp_path / "stream.jsonl.1")
        stream.write_bytes(lines[0])
        _, err = (b.decode() for b in serve.communicate(timeout=120))
    assert serve.returncode == 3, err
    assert "已被替换或轮换" in err and f"已读到第 {total} 行" in err.replace("\n", "")
    assert "restarting" not in err  # stopped, not restarted
    assert read_checkpoint(tmp_path / "cp") == total
    (whole_ents, whole_msgs), (ents, msgs) = store_state(whole_url), store_state(url)
    assert [e[:-1] for e in ents] == [e[:-1] for e in whole_ents]
    assert sorted(m[1:] for m in msgs) == sorted(m[1:] for m in whole_msgs)
    get_settings.cache_clear()
