"""The event engine in a supervised worker process: restarted after a crash, without losing
an event or applying one twice.

durable_rules runs in C and a crash there (a segmentation fault) takes the whole process
down, so a long-running consumer runs the engine in a worker process watched by a
:class:`Supervisor`, which starts a new worker whenever one dies abnormally.

The stream is a JSON-lines file (:mod:`matcher.events.replay`), read in order; line *n* is
event *n*. Consecutive events are written in batches (at most ``max_batch``, an entity at
most once): one transaction for the batch's entitlement changes and messages
(:func:`matcher.events.delivery.record_batch`), so the fixed cost of a transaction, a read
and a diff is paid per batch, not per event. After the transaction of a batch ending at
line *n* commits, the worker writes *n* to its checkpoint file (written to a temporary
file, then renamed). A new worker:

1. loads the snapshot and re-applies events ``1..checkpoint`` to the engine **in memory
   only** (the engine's state - profiles changed since the snapshot, open trigger patterns,
   occurrences - is a pure function of the snapshot and the events, so it is rebuilt exactly);
2. applies the events after the checkpoint **with** their store writes.

Consumed at least once: a batch is applied again when the worker died after its commit
but before its checkpoint. Applied idempotently: a store write is the difference between
the entities' outcomes and the entitlements already in the store, and the outbox has one
message per idempotency key; a batch applied a second time (cut at the same lines: batches
depend only on the lines) finds its changes already there and writes nothing.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matcher.events.engine import EventEngine, OutcomeRow
from matcher.events.errors import EventError, StreamReplacedError
from matcher.events.replay import LineApplier


@dataclass(frozen=True)
class AppliedEvent:
    """One event applied to the engine, to be written: its line, entity and outcomes."""

    line: int
    entity_id: str
    event: Mapping[str, Any]
    outcomes: list[OutcomeRow]
    #: others decided again because the entity is a member of theirs (its household,
    #: its spouse): :meth:`EventEngine.take_redecided`, written with the event
    redecided: Mapping[str, list[OutcomeRow]] = field(default_factory=dict)
    #: a profile update's typed base values, as applied (recorded with the batch, so pages
    #: explain with them: :mod:`store.profile_updates`); empty for a life event
    values: Mapping[str, Any] = field(default_factory=dict)

    @property
    def entities(self) -> set[str]:
        """Every entity whose outcomes this event writes."""
        return {self.entity_id, *self.redecided}


def applied_values(engine: EventEngine, entity_id: str, event: Mapping[str, Any]
                   ) -> dict[str, Any]:
    """The typed values a profile update set, read from the engine's profile right after it
    was applied (by catalog name: an update may name a field by another of its names)."""
    written = event.get("set")
    if not isinstance(written, Mapping):
        return {}
    profile = engine.profiles.get(entity_id, {})
    names = (engine.catalog.field(w).name for w in written)
    return {n: profile.get(n) for n in names}


WriteBatch = Callable[[list[AppliedEvent]], None]
"""write(batch): the store writes of consecutive applied events, in one transaction."""


def read_checkpoint(path: Path) -> int:
    """The last event number whose store write committed (0 when none)."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return 0
    if not text.isdigit():
        raise ValueError(f"expected a line number in the checkpoint {path.name}, got {text!r}")
    return int(text)


def write_checkpoint(path: Path, number: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(str(number), encoding="utf-8")
    os.replace(tmp, path)


@dataclass
class ConsumeReport:
    rebuilt: int = 0  # events re-applied in memory from before the checkpoint
    applied: int = 0  # events applied with their store writes
    rejected: int = 0


def settle_heap() -> None:
    """Collect, then freeze what the process holds (the snapshot, the compiled rules, the
    engine's state so far): the collector never scans those objects again. Without it, a
    full collection over them ran in the middle of the stream - one pause of ~0.2 s with
    2 000 evaluated entities, growing with the heap - which alone puts every event that
    arrives meanwhile over a p99 of 50 ms. Called by :func:`consume` before its stream;
    a process that keeps consuming owns its collector."""
    gc.collect()
    gc.freeze()


def consume(engine: EventEngine, lines: Sequence[str], *, checkpoint: Path,
            write: WriteBatch, max_batch: int = 64, pause_s: float = 0.0,
            on_progress: Callable[[int], None] | None = None,
            wait_for_more: Callable[[], bool] | None = None) -> ConsumeReport:
    """Apply ``lines`` to ``engine``: those up to the checkpoint in memory only, the rest
    with their store writes, in batches of consecutive events — at most ``max_batch``, each
    entity at most once (an entity's second event starts the next batch) — each batch one
    ``write`` (one store transaction), checkpointed after it at its last line. Batches are
    cut the same way whatever the checkpoint was, so a restarted worker writes what an
    uninterrupted one would.

    ``wait_for_more`` (a live stream, :class:`LineFollower`): ``lines`` may grow. When every
    line so far is applied, what has arrived is written at once (a batch is then also cut
    where the stream paused), then ``wait_for_more()`` blocks until more lines are there
    (True) or the stream is to stop (False). A batch cut differently after a restart is
    still applied idempotently: the batches already committed find their changes there."""
    if max_batch < 1:
        raise ValueError(f"expected max_batch >= 1, got {max_batch}")
    done = read_checkpoint(checkpoint)
    settle_heap()
    report = ConsumeReport()
    pending: list[AppliedEvent] = []
    covered = written = done

    def flush() -> None:
        nonlocal written
        if pending:
            write(list(pending))
            report.applied += len(pending)
            pending.clear()
        write_checkpoint(checkpoint, covered)
        written = covered
        if on_progress is not None:
            on_progress(covered)
        if pause_s:
            time.sleep(pause_s)

    applier = LineApplier(engine, lines)
    number = 0
    while True:
        if number >= len(lines):
            if wait_for_more is None:
                break
            if covered > written:
                flush()  # the stream paused: what has arrived is committed now
            if not wait_for_more():
                break
            continue
        number += 1
        text = lines[number - 1]
        if not text.strip():
            continue
        # a run applied together fits the batch being cut (none of its entities, at most
        # the room left); a rebuild stops at the checkpoint
        taken = {a.entity_id for a in pending} if number > done else set()
        try:
            entity_id, event, outcomes = applier.apply(
                number, taken=taken, limit=max_batch - len(taken),
                last=done if number <= done else None)
        except EventError:
            report.rejected += 1  # refused the same way every time: nothing to write
            outcomes = None
        redecided = engine.take_redecided()
        if number <= done:
            report.rebuilt += 1
            continue
        if outcomes is not None:
            applied = AppliedEvent(line=number, entity_id=entity_id, event=event,
                                   outcomes=outcomes, redecided=redecided,
                                   values=applied_values(engine, entity_id, event))
            if any(a.entities & applied.entities for a in pending):
                flush()  # the batch so far, through the line before this one
        covered = number
        if outcomes is not None:
            pending.append(applied)
        if len(pending) >= max_batch:
            flush()
    if covered > written:
        flush()
    return report


#: a worker's exit status when its followed event file was truncated or replaced
#: (:class:`matcher.events.errors.StreamReplacedError`): not a crash, a restart would not help
STREAM_REPLACED_EXIT = 3


class Supervisor:
    """Runs a worker command until it exits normally, starting a new one after a crash.

    ``command`` is the worker's argv; a worker that exits with 0 has finished the stream; any
    other ending (a signal, a non-zero status) is a crash: the worker is started again, up to
    ``max_restarts`` times in a row without progress (then :class:`RuntimeError`). A worker
    that exits with :data:`STREAM_REPLACED_EXIT` stopped on purpose (it said why): not
    restarted, :class:`StreamReplacedError` is raised."""

    def __init__(self, command: Sequence[str], *, checkpoint: Path, max_restarts: int = 5,
                 env: dict[str, str] | None = None) -> None:
        self.command = list(command)
        self.checkpoint = checkpoint
        self.max_restarts = max_restarts
        self.env = env
        self.restarts = 0
        self.process: subprocess.Popen[bytes] | None = None

    def run(self) -> int:
        """Run to the end of the stream; the number of restarts."""
        failures = 0
        while True:
            before = read_checkpoint(self.checkpoint)
            self.process = subprocess.Popen(self.command, env=self.env)
            code = self.process.wait()
            if code == 0:
                return self.restarts
            if code == STREAM_REPLACED_EXIT:
                done = read_checkpoint(self.checkpoint)
                raise StreamReplacedError(f"事件文件被截断或替换，处理进程已停止(断点 {done})")
            progress = read_checkpoint(self.checkpoint) > before
            failures = 0 if progress else failures + 1
            if failures > self.max_restarts:
                raise RuntimeError(f"event worker failed {failures} times without progress "
                                   f"(last exit status {code})")
            self.restarts += 1
            print(f"event worker ended with status {code}; restarting "
                  f"(checkpoint {read_checkpoint(self.checkpoint)})", file=sys.stderr)
