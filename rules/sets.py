"""Named sets kept as data in the library (``rules/library/sets.yaml``).

An ``industry_prefix`` set holds GB/T 4754-2017 codes and matches by prefix (division "16"
matches class "1610"); a ``region_prefix`` set holds GB/T 2260 codes and matches by prefix
(city "4401" matches district "440106"); a ``values`` set matches whole values.

Members may be uncertain while a catalogue is being checked: ``items`` are certain members,
``pending`` are members marked 待核 and ``excluded`` are codes explicitly outside the set
(a class carved out of an included division). For a prefix set the longest matching code
decides; ``in`` is TRUE on a certain member, UNKNOWN on a 待核 one, FALSE on an excluded code
or none (the honest answer while the list is checked).

>>> s = NamedSet(name="s", label="s", kind="industry_prefix", items=("16",),
...              pending=("3011",), excluded=("1690",))
>>> s.contains("1620"), s.contains("3011"), s.contains("1690"), s.contains("3110")
(True, None, False, False)

A set may have **editions** (负面清单 2024年本 / 2025年版): each edition has a ``from`` date
(and optionally a ``to`` date, inclusive) and its own members; ``in`` uses the edition in
force on the as-of date (:meth:`NamedSet.at`). Before the first edition, or in a gap between
editions, no list is in force and nothing is on it.

>>> e = NamedSet(name="e", label="e", kind="values", items=(), editions=(
...     Edition(since=dt.date(2024, 1, 1), until=None, items=("a", "b")),
...     Edition(since=dt.date(2025, 4, 24), until=None, items=("a",))))
>>> [e.at(dt.date(d, 6, 1)).contains("b") for d in (2023, 2024, 2025)]
[False, True, False]

>>> sets = bundled_sets()
>>> sets["加计扣除负面清单行业"].contains("6110")
True
>>> sets["加计扣除负面清单行业"].contains("6310")
False
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from ruamel.yaml.comments import CommentedMap

from rules.errors import PolicyError, Problem
from rules.yaml_text import as_date, date_problem_text, position, read_yaml_file

SetKind = Literal["industry_prefix", "region_prefix", "values"]
SET_KINDS: tuple[SetKind, ...] = ("industry_prefix", "region_prefix", "values")


@dataclass(frozen=True, kw_only=True)
class Edition:
    """The members of a set from ``since`` to ``until`` (inclusive; None: until the next
    edition or for good)."""

    since: dt.date
    until: dt.date | None
    items: tuple[str, ...]
    pending: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    source: str | None = None

    def covers(self, when: dt.date) -> bool:
        return self.since <= when and (self.until is None or when <= self.until)


@dataclass(frozen=True, kw_only=True)
class NamedSet:
    name: str
    label: str
    kind: SetKind
    items: tuple[str, ...]
    source: str | None = None
    pending: tuple[str, ...] = ()  # members marked 待核: ``in`` is UNKNOWN on them
    excluded: tuple[str, ...] = ()  # codes explicitly outside the set
    editions: tuple[Edition, ...] = ()  # dated editions, ascending; none: one undated list

    def at(self, when: dt.date) -> NamedSet:
        """The set as it stands on ``when``: the latest edition in force then (no members
        when none is); an undated set is itself."""
        if not self.editions:
            return self
        found = [e for e in self.editions if e.covers(when)]
        edition = found[-1] if found else Edition(since=when, until=None, items=())
        return NamedSet(name=self.name, label=self.label, kind=self.kind,
                        items=edition.items, pending=edition.pending,
                        excluded=edition.excluded, source=edition.source or self.source)

    @property
    def by_prefix(self) -> bool:
        return self.kind in ("industry_prefix", "region_prefix")

    def statuses(self) -> list[tuple[str, bool | None]]:
        """Every listed code with what ``in`` answers on it (TRUE, None = 待核, FALSE),
        longest first: for a prefix set the longest matching code decides."""
        out: list[tuple[str, bool | None]] = [(i, True) for i in self.items]
        out += [(i, None) for i in self.pending]
        out += [(i, False) for i in self.excluded]
        return sorted(out, key=lambda t: (-len(t[0]), t[0]))

    def matches(self, value: str, code: str) -> bool:
        return value.startswith(code) if self.by_prefix else value == code

    def contains(self, value: str) -> bool | None:
        """Whether ``value`` belongs to the set: TRUE, FALSE, or None for a 待核 member."""
        for code, status in self.statuses():
            if self.matches(value, code):
                return status
        return False


class NamedSets(Mapping[str, NamedSet]):
    """Named sets by name."""

    def __init__(self, sets: Mapping[str, NamedSet] | None = None) -> None:
        self._sets = dict(sets or {})

    def __getitem__(self, name: str) -> NamedSet:
        return self._sets[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._sets)

    def __len__(self) -> int:
        return len(self._sets)

    def __repr__(self) -> str:
        return f"NamedSets({sorted(self._sets)})"


def load_sets(path: Path | str) -> NamedSets:
    """Read a sets file: ``name: {label, kind, items}`` per set."""
    file = str(path)
    raw, _ = read_yaml_file(Path(path), file=file)
    problems: list[Problem] = []
    out: dict[str, NamedSet] = {}
    if not isinstance(raw, CommentedMap):
        raise PolicyError([Problem(file=file, line=1, column=1, code="schema",
                                   message="期望命名集合的映射(名称: {label, kind, items})，"
                                   "实际不是映射")])
    for name, body in raw.items():
        line, col = position(raw, name, of="key")

        def problem(message: str, line: int = line, col: int = col) -> Problem:
            return Problem(file=file, line=line, column=col, code="schema", message=message)

        if not isinstance(body, Mapping) or not (isinstance(body.get("items"), list)
                                                 or isinstance(body.get("editions"), list)):
            problems.append(problem(f"集合 '{name}': 期望含 items 列表(或 editions 版本列表)"
                                    "的映射，实际不是"))
            continue
        kind = str(body.get("kind", "values"))
        if kind not in SET_KINDS:
            problems.append(problem(f"集合 '{name}': 期望 kind 为 {'、'.join(SET_KINDS)} "
                                    f"之一，实际为 '{kind}'"))
            continue
        lists = _members(body, name=str(name), problem=problem, problems=problems)
        if lists is None:
            continue
        editions = _editions(body, name=str(name), file=file, problems=problems)
        if editions is None:
            continue
        out[str(name)] = NamedSet(
            name=str(name),
            label=str(body.get("label", name)),
            kind=kind,
            items=lists["items"],
            source=str(body["source"]) if body.get("source") else None,
            pending=lists["pending"],
            excluded=lists["excluded"],
            editions=editions,
        )
    if problems:
        raise PolicyError(problems)
    return NamedSets(out)


def _members(body: Any, *, name: str, problem: Any,
             problems: list[Problem]) -> dict[str, tuple[str, ...]] | None:
    """items, pending and excluded of one set or edition; a code in two of them is refused."""
    lists = {key: tuple(str(i) for i in body.get(key) or ()) for key in
             ("items", "pending", "excluded")}
    twice = sorted({c for key in lists for c in lists[key]
                    if sum(c in v for v in lists.values()) > 1})
    if twice:
        problems.append(problem(f"集合 '{name}': 期望每个代码只出现在 items、pending、"
                                f"excluded 之一中，实际 {', '.join(twice)} 出现在多处"))
        return None
    return lists


def _editions(body: Any, *, name: str, file: str,
              problems: list[Problem]) -> tuple[Edition, ...] | None:
    """``editions: [{from, to?, source?, items, pending?, excluded?}, ...]``, ascending and
    not overlapping; every problem located at its node."""
    raw = body.get("editions")
    if raw is None:
        return ()
    before = len(problems)
    out: list[Edition] = []
    for i, ed in enumerate(raw):
        line, col = position(raw, i, of="item")

        def problem(message: str, line: int = line, col: int = col) -> Problem:
            return Problem(file=file, line=line, column=col, code="bad-edition",
                           message=message)

        if not isinstance(ed, Mapping) or not isinstance(ed.get("items", []), list):
            problems.append(problem(f"集合 '{name}' 第 {i + 1} 版: 期望 {{from: 日期, to: 日期, "
                                    "items: [...]}}，实际不是"))
            continue
        since, until = as_date(ed.get("from")), as_date(ed.get("to"))
        if since is None:
            problems.append(problem(f"集合 '{name}' 第 {i + 1} 版: 期望 from 为日期 "
                                    f"YYYY-MM-DD，实际为 {date_problem_text(ed.get('from'))}"))
            continue
        if ed.get("to") is not None and until is None:
            problems.append(problem(f"集合 '{name}' 第 {i + 1} 版: 期望 to 为日期 "
                                    f"YYYY-MM-DD，实际为 {date_problem_text(ed.get('to'))}"))
            continue
        if until is not None and until < since:
            problems.append(problem(f"集合 '{name}' 第 {i + 1} 版: 期望 to 不早于 from "
                                    f"{since}，实际为 {until}"))
            continue
        if out and since <= out[-1].since:
            problems.append(problem(f"集合 '{name}' 第 {i + 1} 版: 期望各版按 from 日期先后"
                                    f"排列，实际为 {out[-1].since} 之后的 {since}"))
            continue
        if out and out[-1].until is not None and since <= out[-1].until:
            problems.append(problem(f"集合 '{name}' 第 {i + 1} 版: 期望各版有效期不重叠，"
                                    f"实际为 {since} 起的版本与截至 {out[-1].until} 的上一版"
                                    "重叠"))
            continue
        lists = _members(ed, name=name, problem=problem, problems=problems)
        if lists is None:
            continue
        if out and out[-1].until is None:  # open-ended until this one starts
            out[-1] = Edition(since=out[-1].since, until=since - dt.timedelta(days=1),
                              items=out[-1].items, pending=out[-1].pending,
                              excluded=out[-1].excluded, source=out[-1].source)
        out.append(Edition(since=since, until=until, items=lists["items"],
                           pending=lists["pending"], excluded=lists["excluded"],
                           source=str(ed["source"]) if ed.get("source") else None))
    return tuple(out) if len(problems) == before else None


@cache
def bundled_sets() -> NamedSets:
    """The sets of the bundled library (read once)."""
    path = resources.files("rules").joinpath("library/sets.yaml")
    return load_sets(Path(str(path)))
