"""GB/T 4754-2017 industry names: the 97 divisions (大类) and their 20 sections (门类).

>>> division_name("5292"), division_name("52"), section_of("52")
('零售业', '零售业', 'F')
>>> division_name("99") is None, division_name(None) is None
(True, True)
>>> len(load_divisions().divisions)
97
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from ruamel.yaml import YAML


@dataclass(frozen=True)
class Divisions:
    divisions: dict[str, str]  # "52" -> 零售业
    sections: dict[str, tuple[str, str, str]]  # "F" -> (批发和零售业, first, last division)


@cache
def load_divisions() -> Divisions:
    text = resources.files("profiles").joinpath("data/industry_divisions.yaml").read_text(
        encoding="utf-8")
    raw = YAML(typ="safe").load(text)
    return Divisions(
        divisions={str(k): str(v) for k, v in raw["divisions"].items()},
        sections={str(k): (str(v["name"]), str(v["divisions"][0]), str(v["divisions"][1]))
                  for k, v in raw["sections"].items()},
    )


def division_name(code: str | None) -> str | None:
    """The name of the division of an industry code (its first two digits), or None."""
    if not code or len(code) < 2:
        return None
    return load_divisions().divisions.get(code[:2])


def section_of(code: str | None) -> str | None:
    """The section letter (门类) of an industry code, or None."""
    if not code or len(code) < 2 or not code[:2].isdigit():
        return None
    for letter, (_, first, last) in load_divisions().sections.items():
        if first <= code[:2] <= last:
            return letter
    return None
