"""The worker and ``events replay`` apply consecutive profile updates of distinct
enterprises together (one derivation for them all): each line's outcomes, the batches and
the checkpoints are those of applying the lines one by one, whatever the checkpoint a worker
restarts from."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.events import make_inputs, with_valid_ids
from matcher.events import replay as replay_module
from matcher.events.engine import EventEngine
from matcher.events.errors import EventError
from matcher.events.replay import apply_line, replay
from matcher.events.worker import AppliedEvent, consume, write_checkpoint
from rules.loader import bundled_library

AS_OF = dt.date(2025, 10, 1)
BASE, UPDATES = with_valid_ids(*make_inputs(40, 120, seed=3))


def _lines(picks: list[int], bad: set[int]) -> list[str]:
    out = []
    for k, pick in enumerate(picks):
        entity_id, values = UPDATES[pick]
        if k in bad:  # refused by the ingest's check: the run of updates stops there
            values = {"employees": "很多"}
        out.append(json.dumps({"entity_id": entity_id, "set": values}, default=str,
                              ensure_ascii=False))
    return out


def _engine() -> EventEngine:
    engine = EventEngine(bundled_library(), entity="enterprise", as_of=AS_OF)
    engine.load(BASE)
    return engine


def _one_by_one(lines: list[str]) -> dict[int, Any]:
    """Each applied line's entity and outcomes, the lines applied one at a time."""
    out: dict[int, Any] = {}
    with _engine() as engine:
        for number, text in enumerate(lines, start=1):
            try:
                entity_id, _event, outcomes = apply_line(engine, text, line=number)
            except EventError:
                continue
            out[number] = (entity_id, outcomes)
    return out


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(picks=st.lists(st.integers(0, len(UPDATES) - 1), min_size=1, max_size=40),
       bad=st.sets(st.integers(0, 39), max_size=3), max_batch=st.integers(1, 9),
       restart=st.integers(0, 40))
def test_lines_applied_together_decide_as_lines_applied_one_by_one(
        tmp_path_factory: Any, picks: list[int], bad: set[int], max_batch: int,
        restart: int) -> None:
    lines = _lines(picks, bad)
    one_by_one = _one_by_one(lines)
    replayed: dict[int, Any] = {}
    with _engine() as engine:
        report = replay(engine, lines, on_applied=lambda n, e, _ev, outcomes, _r:
                        replayed.__setitem__(n, (e, outcomes)))
    assert replayed == one_by_one
    assert sorted(r.line for r in report.rejected) == sorted(
        n for n in range(1, len(lines) + 1) if n not in one_by_one)
    together: list[list[AppliedEvent]] = []
    folder = Path(tmp_path_factory.mktemp("together"))
    checkpoint = folder / "cp"
    write_checkpoint(checkpoint, min(restart, len(lines)))
    calls: list[int] = []
    original = replay_module.apply_together

    def counted(*args: Any, **kwargs: Any) -> Any:
        found = original(*args, **kwargs)
        calls.append(len(found))
        return found

    replay_module.apply_together = counted
    try:
        with _engine() as engine:
            consume(engine, lines, checkpoint=checkpoint, write=together.append,
                    max_batch=max_batch)
    finally:
        replay_module.apply_together = original
    written = {a.line: (a.entity_id, a.outcomes) for batch in together for a in batch}
    assert written == {n: o for n, o in one_by_one.items() if n > min(restart, len(lines))}
    for batch in together:  # the batches are cut as before: at the limit, at a second event
        assert len(batch) <= max_batch
        assert len({a.entity_id for a in batch}) == len(batch)
    assert max(calls, default=0) <= max_batch


def test_a_run_of_updates_is_derived_once(tmp_path: Path) -> None:
    """Eight updates of distinct enterprises, all there: one derivation, not eight."""
    first: dict[str, int] = {}
    for k, (entity_id, _) in enumerate(UPDATES):
        first.setdefault(entity_id, k)
    picks = sorted(first.values())[:8]
    lines = _lines(picks, set())
    batches: list[list[AppliedEvent]] = []
    with _engine() as engine:
        derived: list[int] = []
        original = engine.derive_rows

        def counted(rows: Any, passed: Any = ()) -> Any:
            derived.append(len(rows))
            return original(rows, passed)

        engine.derive_rows = counted  # type: ignore[method-assign]
        consume(engine, lines, checkpoint=tmp_path / "cp", write=batches.append, max_batch=64)
    assert derived == [8] and [len(b) for b in batches] == [8]
    assert [a.line for a in batches[0]] == list(range(1, 9))
