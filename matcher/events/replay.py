"""Events from JSON lines, applied in order to an :class:`~matcher.events.engine.EventEngine`.

Two kinds of line:

- a partial profile update: ``{"entity_id": "...", "set": {"employees": 12}}`` (fields by
  catalog name or Chinese label; ``null`` clears a value, which is then UNKNOWN);
- a life event: ``{"entity_id": "...", "event": "graduate_hired", "on": "2025-03-01",
  "person": "..."}`` (other keys are the event's attributes).

Values are parsed and checked by the ingest's own rules (:func:`profiles.ingest.
validate_source` on a one-row text table of the columns the update names), so an update is
accepted exactly when the same value in a source table would be. A bad line is refused with
its reason and the replay goes on; messages never show the values of personal fields.

>>> import datetime as dt
>>> from rules.loader import bundled_library
>>> with EventEngine(bundled_library(), entity="enterprise", as_of=dt.date(2025, 10, 1)) as eng:
...     report = replay(eng, [
...         '{"entity_id": "91440101000000000J", "set": {"status": "存续", "graduate_hires": 2}}',
...         '{"entity_id": "91440101000000000J", "set": {"employees": "many"}}',
...         'not json'])
...     rows = {o["policy_id"]: o for o in eng.outcomes_of("91440101000000000J")}
>>> rows["graduate-hiring-subsidy"]["outcome"], rows["graduate-hiring-subsidy"]["amount_fen"]
('eligible', 300000)
>>> report.applied, [r.line for r in report.rejected]
(1, [2, 3])
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from matcher.events.engine import EventEngine, OutcomeRow
from matcher.events.errors import BadEventError, EventError
from profiles.catalog import unknown_field_hint
from profiles.ingest import validate_source

Applied = Callable[[int, str, Mapping[str, Any], list[OutcomeRow],
                    Mapping[str, list[OutcomeRow]]], None]
"""on_applied(line number, entity id, the event, the entity's outcomes after it, the
outcomes of the others it decided again: :meth:`EventEngine.take_redecided`)."""


CHECK_AHEAD = 64  # lines whose update values are checked in one pass


@dataclass(frozen=True)
class Rejected:
    line: int
    reason: str


@dataclass
class ReplayReport:
    applied: int = 0
    rejected: list[Rejected] = field(default_factory=list)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else repr(value)
    return str(value)


def _checked_names(engine: EventEngine, values: Mapping[str, Any], *, line: int
                   ) -> dict[str, str]:
    """Catalog name -> the name written, for the fields an update may set."""
    catalog = engine.catalog
    names: dict[str, str] = {}
    for written in values:
        if written not in catalog:
            note, hint = unknown_field_hint(catalog, written)
            raise BadEventError(f"未知字段 '{written}'" + (f"({note})" if note else "")
                                + (f"(是否为 '{hint}'?)" if hint else ""),
                                line=line, field=written)
        f = catalog.field(written)
        if f.kind != "base" or f.name == engine.key:
            raise BadEventError(f"字段 '{written}' 不能由事件修改(应为来源数据的基础字段，"
                                f"实际为 {f.kind if f.name != engine.key else '主键'})",
                                line=line, field=f.name)
        names[f.name] = written
    return names


def parse_update(engine: EventEngine, entity_id: str, values: Mapping[str, Any], *,
                 line: int) -> dict[str, Any]:
    """Typed base values of a partial update, checked as the ingest checks a source row."""
    (parsed,) = parse_updates(engine, [(line, entity_id, values)])
    if isinstance(parsed, BadEventError):
        raise parsed
    return parsed


def parse_updates(engine: EventEngine, updates: Sequence[tuple[int, str, Mapping[str, Any]]]
                  ) -> list[dict[str, Any] | BadEventError]:
    """:func:`parse_update` of several updates (line, entity id, values) of distinct
    entities, checked together in one pass of the ingest's checks (whose fixed cost, ~20 ms,
    is then paid once): each one's typed values, or the error that refuses it."""
    if len({e for _, e, _ in updates}) != len(updates):
        raise ValueError("expected updates of distinct entities (the ingest refuses a key "
                         "twice in one table)")
    out: list[dict[str, Any] | BadEventError] = []
    rows: list[dict[str, str | None]] = []
    at: list[tuple[int, int, dict[str, str]]] = []  # (output index, row number, names)
    for line, entity_id, values in updates:
        try:
            names = _checked_names(engine, values, line=line)
        except BadEventError as err:
            out.append(err)
            continue
        out.append({})
        rows.append({engine.key: entity_id, **{n: _text(values[w]) for n, w in names.items()}})
        at.append((len(out) - 1, len(rows), names))
    if not rows:
        return out
    columns = list(dict.fromkeys(c for r in rows for c in r))
    table = pl.DataFrame([{c: r.get(c) for c in columns} for r in rows],
                         schema={c: pl.String() for c in columns})
    # the ingest's checks of these columns only (no other field is filled in: an update
    # sets what it names)
    checked = validate_source(table, entity=engine.entity, source="event")
    clean, rejects = checked.clean, checked.rejects
    refused: dict[int, str] = {}
    for r in rejects.iter_rows(named=True):
        refused.setdefault(r["row_number"], str(r.get("reason") or ""))
    if None in refused or clean.height != len(rows) - len(refused):
        if len(rows) > 1:  # a refusal not tied to one row: each update alone says which
            return [out[i] if isinstance(out[i], BadEventError)
                    else parse_updates(engine, [updates[i]])[0] for i in range(len(updates))]
        reason = str(rejects.row(0, named=True).get("reason") or "") if rejects.height else ""
        i = at[0][0]
        out[i] = BadEventError(f"取值未通过校验: {reason or '主键无效'}", line=updates[i][0])
        return out
    typed = iter(clean.iter_rows(named=True))
    for i, number, names in at:
        if number in refused:
            out[i] = BadEventError(f"取值未通过校验: {refused[number] or '主键无效'}",
                                   line=updates[i][0])
        else:
            row = next(typed)
            out[i] = {n: row[n] for n in names}
    return out


def apply_together(engine: EventEngine, lines: Sequence[str], *, start: int,
                   checked: Mapping[int, dict[str, Any] | BadEventError], taken: set[str],
                   limit: int, last: int) -> dict[int, tuple[str, dict[str, Any],
                                                         list[OutcomeRow]]]:
    """The consecutive profile updates from line ``start`` (to ``last`` at most) whose values
    are checked, of distinct entities none of which is ``taken`` (in the batch so far), at
    most ``limit``, applied to the engine together (:meth:`EventEngine.upsert_many`: their
    tags derived in one frame, the fixed cost of a derivation paid once): line -> what
    :func:`apply_line` returns for it. Empty when line ``start`` is not such an update (it is
    applied alone). Only for an engine whose updates decide no one else
    (:attr:`EventEngine.redecides`): each entity's outcomes then depend on its own lines only,
    so applying them together decides what applying them one by one does; and the run fits
    the batch being cut (none of its entities is in it, at most ``limit`` lines), so batches
    are cut where line-by-line application cuts them."""
    run: list[tuple[int, str, dict[str, Any], dict[str, Any]]] = []
    seen = set(taken)
    for number in range(start, min(last, len(lines)) + 1):
        values = checked.get(number)
        if not isinstance(values, dict) or len(run) >= limit:
            break
        event = read_line(lines[number - 1], line=number)
        if "set" not in event or event["entity_id"] in seen:
            break
        seen.add(event["entity_id"])
        run.append((number, event["entity_id"], event, values))
    if not run:
        return {}
    results = engine.upsert_many([(entity_id, values) for _, entity_id, _, values in run])
    return {number: (entity_id, event, outcomes)
            for (number, entity_id, event, _), outcomes in zip(run, results, strict=True)}


def check_ahead(engine: EventEngine, lines: Sequence[str], *, start: int
                ) -> dict[int, dict[str, Any] | BadEventError]:
    """The values of the profile updates among the next :data:`CHECK_AHEAD` lines from line
    ``start``, checked together (:func:`matcher.events.replay.parse_updates`): line number ->
    typed values or the error; an entity's later updates in the window are left to be
    checked when they are reached, and so is every line that is not a well-formed update."""
    updates: list[tuple[int, str, Mapping[str, Any]]] = []
    seen: set[str] = set()
    for number in range(start, min(start + CHECK_AHEAD, len(lines) + 1)):
        text = lines[number - 1]
        if not text.strip():
            continue
        try:
            event = read_line(text, line=number)
        except EventError:
            continue
        if "set" in event and event["entity_id"] not in seen:
            seen.add(event["entity_id"])
            updates.append((number, event["entity_id"], event["set"]))
    parsed = parse_updates(engine, updates)
    return {u[0]: p for u, p in zip(updates, parsed, strict=True)}


def read_line(text: str, *, line: int) -> dict[str, Any]:
    """One JSON line as an event object with a string ``entity_id`` (a profile update's
    ``set`` checked for shape), or the error that refuses it."""
    try:
        event = json.loads(text)
    except json.JSONDecodeError as err:
        raise BadEventError(f"应为一个 JSON 对象，解析失败: {err.msg}", line=line) from None
    if not isinstance(event, dict) or not isinstance(event.get("entity_id"), str):
        raise BadEventError("应为带字符串 entity_id 的 JSON 对象", line=line)
    if "set" in event and (not isinstance(event["set"], dict) or "event" in event):
        raise BadEventError("set 应为 {字段: 值} 对象，且不能与 event 同时出现", line=line)
    return event


def apply_line(engine: EventEngine, text: str, *, line: int,
               parsed: dict[str, Any] | BadEventError | None = None,
               ) -> tuple[str, dict[str, Any], list[OutcomeRow]]:
    """Apply one JSON line; (entity id, the parsed event, the entity's outcomes after it).
    ``parsed``: a profile update's values already checked (:func:`parse_updates`)."""
    event = read_line(text, line=line)
    entity_id = event["entity_id"]
    if "set" in event:
        if isinstance(parsed, BadEventError):
            raise parsed
        values = (parsed if parsed is not None
                  else parse_update(engine, entity_id, event["set"], line=line))
        return entity_id, event, engine.upsert(entity_id, values)
    if isinstance(event.get("event"), str):
        try:
            on = dt.date.fromisoformat(str(event.get("on")))
        except ValueError:
            raise BadEventError("生活事件应带日期 on (YYYY-MM-DD)", line=line) from None
        attributes = {k: v for k, v in event.items() if k not in ("entity_id", "event", "on")}
        try:
            return entity_id, event, engine.record_event(entity_id, event["event"], on,
                                                         attributes)
        except BadEventError as err:
            raise BadEventError(str(err), line=line, field=err.field) from None
    raise BadEventError("应含 set(画像更新) 或 event(生活事件)", line=line)


class LineApplier:
    """Applies the lines of a stream to ``engine`` in order (each line once, by its number),
    deciding what applying each alone would: the values of the updates are checked
    :data:`CHECK_AHEAD` lines at a time (:func:`check_ahead`) and, for an engine whose updates
    decide no one else, runs of updates are applied together (:func:`apply_together`).
    ``lines`` may grow between calls (a followed file). Used by :func:`replay` and the
    worker's :func:`matcher.events.worker.consume`."""

    def __init__(self, engine: EventEngine, lines: Sequence[str]) -> None:
        self.engine = engine
        self.lines = lines
        self._checked: dict[int, dict[str, Any] | BadEventError] = {}
        self._ready: dict[int, tuple[str, dict[str, Any], list[OutcomeRow]]] = {}
        self._horizon = 0

    def apply(self, number: int, *, taken: AbstractSet[str] = frozenset(),
              limit: int = CHECK_AHEAD, last: int | None = None
              ) -> tuple[str, dict[str, Any], list[OutcomeRow]]:
        """What :func:`apply_line` returns for line ``number``, or raises. A run applied
        together from it has none of ``taken`` (the entities already in the caller's
        batch), at most ``limit`` lines, none past ``last`` (default: the lines checked)."""
        if number > self._horizon:
            self._checked = check_ahead(self.engine, self.lines, start=number)
            # only lines already there were checked: a later one starts the next window
            self._horizon = min(number + CHECK_AHEAD - 1, len(self.lines))
        if number not in self._ready and not self.engine.redecides:
            self._ready = apply_together(
                self.engine, self.lines, start=number, checked=self._checked,
                taken=set(taken), limit=limit, last=self._horizon if last is None else last)
        if number in self._ready:
            return self._ready.pop(number)
        return apply_line(self.engine, self.lines[number - 1], line=number,
                          parsed=self._checked.get(number))


def replay(engine: EventEngine, lines: Iterable[str], *,
           on_applied: Applied | None = None) -> ReplayReport:
    """Apply every line in order; bad lines are refused with their reason. The values of
    the updates are checked :data:`CHECK_AHEAD` lines at a time and, for an engine whose
    updates decide no one else, runs of updates are applied together, as the worker does
    (:class:`LineApplier`): each line's outcomes are those of applying it alone
    (``tests/events/test_apply_together.py``)."""
    lines = lines if isinstance(lines, Sequence) else list(lines)
    report = ReplayReport()
    applier = LineApplier(engine, lines)
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            entity_id, event, outcomes = applier.apply(number)
        except EventError as err:
            report.rejected.append(Rejected(line=number, reason=str(err)))
            continue
        redecided = engine.take_redecided()
        report.applied += 1
        if on_applied is not None:
            on_applied(number, entity_id, event, outcomes, redecided)
    return report
