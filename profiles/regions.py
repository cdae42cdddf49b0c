"""GB/T 2260 region names and codes.

>>> load_regions().prefix("广州市")
'4401'
>>> load_regions().name_of("440106")
'广东省广州市天河区'
>>> load_regions().prefix("天河区")
'440106'
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from ruamel.yaml import YAML


class UnknownRegionError(KeyError):
    def __init__(self, name: str, suggestion: str | None) -> None:
        self.name = name
        self.suggestion = suggestion
        hint = f"; did you mean '{suggestion}'?" if suggestion else ""
        super().__init__(f"unknown region '{name}'{hint}")

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class Regions:
    """Names by code prefix (2 digits province, 4 city, 6 district)."""

    provinces: dict[str, str]
    cities: dict[str, str]
    districts: dict[str, str]

    def _by_name(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for table in (self.districts, self.cities, self.provinces):
            for code, name in table.items():
                out.setdefault(name, code)
        return out

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._by_name())

    def prefix(self, name: str) -> str:
        """The code prefix shared by every district inside the region called ``name``."""
        by_name = self._by_name()
        try:
            return by_name[name]
        except KeyError:
            found = difflib.get_close_matches(name, list(by_name), n=1, cutoff=0.5)
            raise UnknownRegionError(name, found[0] if found else None) from None

    def name_of(self, code: str) -> str | None:
        """Full name of a 6-digit district code, or None when the code is not known."""
        province = self.provinces.get(code[:2])
        if province is None:
            return None
        city = self.cities.get(code[:4], "")
        district = self.districts.get(code, "")
        return province + city + district


@cache
def load_regions() -> Regions:
    text = resources.files("profiles").joinpath("data/regions.yaml").read_text(encoding="utf-8")
    raw = YAML(typ="safe").load(text)
    return Regions(
        provinces={str(k): str(v) for k, v in raw["provinces"].items()},
        cities={str(k): str(v) for k, v in raw["cities"].items()},
        districts={str(k): str(v) for k, v in raw["districts"].items()},
    )
