"""How the worker cuts the stream into store batches: at most ``max_batch`` events, an
entity at most once, checkpointed at each batch's last line, cut at the same lines after a
restart (so a rerun writes what an uninterrupted worker wrote)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from matcher.events import replay, worker
from matcher.events.errors import BadEventError
from matcher.events.worker import AppliedEvent, consume, read_checkpoint, write_checkpoint

LINES = [json.dumps(x) for x in [
    {"entity_id": "A"}, {"entity_id": "B"}, {"bad": 1}, {"entity_id": "C"},
    {"entity_id": "A"}, {"entity_id": "D"}, {"entity_id": "E"}, {"entity_id": "F"},
]] + ["", json.dumps({"entity_id": "G"})]


class _FakeEngine:
    """Decides again whom ``others`` names for an entity (its household, say)."""

    redecides = True  # as a person engine's: each line is applied alone

    def __init__(self, others: dict[str, list[str]] | None = None) -> None:
        self.others = others or {}
        self.last: list[str] = []

    def take_redecided(self) -> dict[str, list[Any]]:
        taken, self.last = self.last, []
        return {o: [] for o in taken}


def _fake_apply(engine: _FakeEngine, text: str, *, line: int, parsed: Any = None
                ) -> tuple[str, dict[str, Any], list[Any]]:
    event = json.loads(text)
    if "entity_id" not in event:
        raise BadEventError("应为带字符串 entity_id 的 JSON 对象", line=line)
    engine.last = engine.others.get(event["entity_id"], [])
    return event["entity_id"], event, [{"line": line}]


@pytest.fixture(autouse=True)
def fake_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replay, "apply_line", _fake_apply)  # the worker's lines go through it


def _run(tmp_path: Path, max_batch: int, engine: _FakeEngine | None = None,
         ) -> tuple[list[list[int]], list[int], worker.ConsumeReport]:
    batches: list[list[int]] = []
    checkpoints: list[int] = []
    cp = tmp_path / "cp"

    def write(batch: list[AppliedEvent]) -> None:
        batches.append([a.line for a in batch])

    report = consume(engine or _FakeEngine(), LINES, checkpoint=cp,  # type: ignore[arg-type]
                     write=write, max_batch=max_batch, on_progress=checkpoints.append)
    return batches, checkpoints, report


def test_batches_stop_at_the_limit_and_at_an_entity_seen_in_the_batch(tmp_path: Path) -> None:
    batches, checkpoints, report = _run(tmp_path, 3)
    # A B (bad) C | A D E | F G: the second A starts a batch; the bad line is covered
    assert batches == [[1, 2, 4], [5, 6, 7], [8, 10]]
    assert checkpoints == [4, 7, 10] and read_checkpoint(tmp_path / "cp") == 10
    assert (report.applied, report.rejected, report.rebuilt) == (8, 1, 0)


def test_one_event_a_batch_checkpoints_every_written_line(tmp_path: Path) -> None:
    batches, checkpoints, _ = _run(tmp_path, 1)
    assert batches == [[1], [2], [4], [5], [6], [7], [8], [10]]
    assert checkpoints == [1, 2, 4, 5, 6, 7, 8, 10]


def test_a_restart_from_a_checkpoint_cuts_the_same_batches(tmp_path: Path) -> None:
    write_checkpoint(tmp_path / "cp", 4)
    batches, checkpoints, report = _run(tmp_path, 3)
    assert batches == [[5, 6, 7], [8, 10]] and checkpoints == [7, 10]
    assert report.rebuilt == 4 and report.applied == 5  # the refused line 3 is re-read too


def test_an_entity_decided_again_counts_as_one_the_batch_writes(tmp_path: Path) -> None:
    """B's update decides C again (B is in C's household): C's outcomes are written with
    B's, so C's own event two lines later starts a new batch, as a second event of one
    entity does; and D, which decides A again, cannot join A's batch either."""
    engine = _FakeEngine({"B": ["C"], "D": ["A"]})
    batches, checkpoints, _ = _run(tmp_path, 10, engine)
    # A B (bad) | C A | D E F G: C was written with B; D decides A again
    assert batches == [[1, 2], [4, 5], [6, 7, 8, 10]]
    assert checkpoints == [3, 5, 10]


def test_a_batch_limit_below_one_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_batch >= 1"):
        _run(tmp_path, 0)


def test_a_live_stream_commits_what_has_arrived_whenever_it_pauses(tmp_path: Path) -> None:
    """With ``wait_for_more`` the lines grow while the worker reads: each pause of the
    stream ends a batch (what arrived is committed before waiting), the limit and an
    entity's second event still cut, and a False from the wait ends the stream."""
    arriving = [LINES[:2], LINES[2:7], LINES[7:]]
    lines: list[str] = []
    batches: list[list[int]] = []
    checkpoints: list[int] = []

    def more() -> bool:
        if not arriving:
            return False
        lines.extend(arriving.pop(0))
        return True

    def write(batch: list[AppliedEvent]) -> None:
        batches.append([a.line for a in batch])

    report = consume(_FakeEngine(), lines, checkpoint=tmp_path / "cp",  # type: ignore[arg-type]
                     write=write, max_batch=3, on_progress=checkpoints.append, wait_for_more=more)
    # A B (pause) | (bad) C A D (limit) | E (pause) | F G (the end)
    assert batches == [[1, 2], [4, 5, 6], [7], [8, 10]]
    assert checkpoints == [2, 6, 7, 10] and read_checkpoint(tmp_path / "cp") == 10
    assert (report.applied, report.rejected) == (8, 1)
