"""Every region of China down to the county level, by name or GB/T 2260 code.

The table (``profiles/data/regions.csv``: province, prefecture and county codes and names,
its edition and source in its header) is read once. A region resolves to the code prefix
every county inside it shares (2 digits province, 4 prefecture, 6 county). A name written
alone must be unique in China; a repeated one (朝阳区 is in 北京市 and in 长春市) is refused
with its candidates, and resolves when written with a parent (北京市朝阳区) or as a code.

>>> regions = load_regions()
>>> regions.prefix("广州市"), regions.prefix("天河区"), regions.prefix("北京市朝阳区")
('4401', '440106', '110105')
>>> regions.name_of("440106")
'广东省广州市天河区'
>>> [r.name for r in regions.chain("330106")]
['浙江省', '杭州市', '西湖区']
>>> try:
...     regions.prefix("朝阳区")
... except AmbiguousRegionError as e:
...     print(e)
行政区划名称 '朝阳区' 不唯一：北京市朝阳区(110105)、吉林省长春市朝阳区(220104)；请写明上级（如 \
'北京市朝阳区'）或写代码
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from itertools import combinations

#: The edition of the bundled table, as messages name it.
EDITION = "2023年版，截至2023-06-30"
_MAX_LISTED = 8  # candidates a message lists


class RegionError(KeyError):
    """Root error of region lookups (a ``KeyError``: the name is not a key of the table)."""

    def __str__(self) -> str:
        return str(self.args[0])


class UnknownRegionError(RegionError):
    """No region of China is called ``name``. ``candidates`` are the full names of regions
    whose name begins with it (杭州 -> 杭州市), each as it resolves alone: the same place
    written short, never a different place that merely looks alike."""

    def __init__(self, name: str, candidates: tuple[str, ...] = ()) -> None:
        self.name = name
        self.candidates = candidates
        self.suggestion = candidates[0] if len(candidates) == 1 else None
        hint = ""
        if candidates:
            listed = "、".join(candidates[:_MAX_LISTED]) + ("等" if len(candidates) > _MAX_LISTED
                                                           else "")
            hint = f"；名称以它开头的有：{listed}"
        super().__init__(f"行政区划代码表（{EDITION}）中没有 '{name}'{hint}")


class AmbiguousRegionError(RegionError):
    """Several regions are called ``name``: ``candidates`` are their full names with codes."""

    def __init__(self, name: str, candidates: tuple[Region, ...], example: str) -> None:
        self.name = name
        self.candidates = candidates
        self.example = example
        listed = "、".join(f"{c.full_name}({c.code})" for c in candidates)
        super().__init__(f"行政区划名称 '{name}' 不唯一：{listed}；请写明上级（如 '{example}'）"
                         "或写代码")


@dataclass(frozen=True)
class Region:
    code: str  # 2, 4 or 6 digits: the prefix of every county code inside the region
    name: str
    full_name: str  # with its parents: 广东省广州市天河区
    parent: str | None  # the parent's code


@dataclass(frozen=True)
class Regions:
    """The table: regions by code, and the index of the names they may be written by."""

    by_code: dict[str, Region]
    _index: dict[str, tuple[str, ...]] = field(repr=False, compare=False)

    @classmethod
    def from_rows(cls, rows: list[tuple[str, str]]) -> Regions:
        """From (code, name) rows; a region's parent is the longest code that prefixes its
        own (a county directly under a province has the province as parent)."""
        names = dict(rows)
        by_code: dict[str, Region] = {}
        for code, name in sorted(rows, key=lambda r: (len(r[0]), r[0])):
            parent = next((code[:n] for n in (4, 2) if n < len(code) and code[:n] in names),
                          None)
            above = by_code[parent] if parent else None
            # 东莞市 (4419) has one county, also 东莞市 (441900): its full name says it once
            full = ("" if above is None else above.full_name) + (
                "" if above is not None and above.name == name else name)
            by_code[code] = Region(code=code, name=name, full_name=full, parent=parent)
        index: dict[str, list[str]] = {}
        for region in by_code.values():
            chain = [r.name for r in cls._chain(by_code, region.code)]
            for key in _written_forms(chain):
                index.setdefault(key, []).append(region.code)
        collapsed = {key: tuple(_outermost(codes)) for key, codes in index.items()}
        return cls(by_code=by_code, _index=collapsed)

    @staticmethod
    def _chain(by_code: dict[str, Region], code: str) -> list[Region]:
        out: list[Region] = []
        current: str | None = code
        while current is not None:
            out.append(by_code[current])
            current = by_code[current].parent
        return out[::-1]

    def _level(self, digits: int) -> dict[str, str]:
        return {c: r.name for c, r in self.by_code.items() if len(c) == digits}

    @cached_property
    def provinces(self) -> dict[str, str]:
        return self._level(2)

    @cached_property
    def cities(self) -> dict[str, str]:
        return self._level(4)

    @cached_property
    def districts(self) -> dict[str, str]:
        """Every county-level region (6-digit code -> name)."""
        return self._level(6)

    def chain(self, code: str) -> tuple[Region, ...]:
        """The region of ``code`` and its parents, outermost first (province, city, county)."""
        return tuple(self._chain(self.by_code, code))

    def resolve(self, text: str) -> Region:
        """The region written ``text``: a code (``4401``), a name unique in China (天河区), or
        a name with some of its parents (北京市朝阳区, 吉林省长春市朝阳区)."""
        key = text.strip()
        if key in self.by_code:
            return self.by_code[key]
        codes = self._index.get(key)
        if codes is None:
            raise UnknownRegionError(key, self._beginning_with(key))
        if len(codes) > 1:
            found = tuple(self.by_code[c] for c in codes)
            raise AmbiguousRegionError(key, found, example=self._shortest_unique(found[0]))
        return self.by_code[codes[0]]

    def prefix(self, name: str) -> str:
        """The code prefix shared by every county inside the region written ``name``."""
        return self.resolve(name).code

    def name_of(self, code: str) -> str | None:
        """Full name of a code (广东省广州市天河区), or None when the code is not known."""
        region = self.by_code.get(code)
        return region.full_name if region else None

    @cached_property
    def names(self) -> tuple[str, ...]:
        """One name per region, the shortest that resolves to it alone (the name itself when
        unique in China, else with a parent: 北京市朝阳区): provinces, then prefectures, then
        counties."""
        return tuple(self._shortest_unique(r) for r in self.by_code.values())

    def _shortest_unique(self, region: Region) -> str:
        chain = [r.name for r in self.chain(region.code)]
        for key in _written_forms(chain):
            if self._index.get(key) == (region.code,):
                return key
        return region.code

    def _beginning_with(self, text: str) -> tuple[str, ...]:
        """The regions written as ``text`` plus more (杭州 -> 杭州市), each by the shortest
        name that resolves to it alone."""
        if len(text) < 2:
            return ()
        codes = sorted({c for key, cs in self._index.items() if key.startswith(text)
                        for c in cs})
        return tuple(self._shortest_unique(self.by_code[c]) for c in _outermost(codes))


def _written_forms(chain: list[str]) -> list[str]:
    """How a region may be written, shortest first: its name alone, then with one of its
    parents before it (nearest first: 长春市朝阳区, then 吉林省朝阳区), then with both.

    >>> _written_forms(["吉林省", "长春市", "朝阳区"])
    ['朝阳区', '长春市朝阳区', '吉林省朝阳区', '吉林省长春市朝阳区']
    """
    *parents, name = chain
    nearest_first = parents[::-1]
    out = []
    for k in range(len(chain)):
        for chosen in combinations(nearest_first, k):
            out.append("".join(chosen[::-1]) + name)
    return out


def _outermost(codes: list[str] | tuple[str, ...]) -> list[str]:
    """Distinct codes, without those inside another of them (东莞市 is the prefecture 4419
    and its one county 441900: one region, written once)."""
    unique = sorted(set(codes), key=lambda c: (len(c), c))
    return [c for c in unique if not any(c != o and c.startswith(o) for o in unique)]


@cache
def load_regions() -> Regions:
    """The bundled table (read once, then cached)."""
    text = resources.files("profiles").joinpath("data/regions.csv").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    reader = csv.reader(lines[1:])  # after the header ``code,name``
    return Regions.from_rows([(code, name) for code, name in reader])
