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

>>> sets = bundled_sets()
>>> sets["加计扣除负面清单行业"].contains("6110")
True
>>> sets["加计扣除负面清单行业"].contains("6310")
False
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from ruamel.yaml.comments import CommentedMap

from rules.errors import PolicyError, Problem
from rules.yaml_text import position, read_yaml_file

SetKind = Literal["industry_prefix", "region_prefix", "values"]
SET_KINDS: tuple[SetKind, ...] = ("industry_prefix", "region_prefix", "values")


@dataclass(frozen=True, kw_only=True)
class NamedSet:
    name: str
    label: str
    kind: SetKind
    items: tuple[str, ...]
    source: str | None = None
    pending: tuple[str, ...] = ()  # members marked 待核: ``in`` is UNKNOWN on them
    excluded: tuple[str, ...] = ()  # codes explicitly outside the set

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

        if not isinstance(body, Mapping) or not isinstance(body.get("items"), list):
            problems.append(problem(f"集合 '{name}': 期望含 items 列表的映射，实际不是"))
            continue
        kind = str(body.get("kind", "values"))
        if kind not in SET_KINDS:
            problems.append(problem(f"集合 '{name}': 期望 kind 为 {'、'.join(SET_KINDS)} "
                                    f"之一，实际为 '{kind}'"))
            continue
        lists = {key: tuple(str(i) for i in body.get(key) or ()) for key in
                 ("items", "pending", "excluded")}
        twice = sorted({c for key in lists for c in lists[key]
                        if sum(c in v for v in lists.values()) > 1})
        if twice:
            problems.append(problem(f"集合 '{name}': 期望每个代码只出现在 items、pending、"
                                    f"excluded 之一中，实际 {', '.join(twice)} 出现在多处"))
            continue
        out[str(name)] = NamedSet(
            name=str(name),
            label=str(body.get("label", name)),
            kind=kind,
            items=lists["items"],
            source=str(body["source"]) if body.get("source") else None,
            pending=lists["pending"],
            excluded=lists["excluded"],
        )
    if problems:
        raise PolicyError(problems)
    return NamedSets(out)


@cache
def bundled_sets() -> NamedSets:
    """The sets of the bundled library (read once)."""
    path = resources.files("rules").joinpath("library/sets.yaml")
    return load_sets(Path(str(path)))
