"""The industry-chain tags (``profiles/data/chains.yaml``): names, labels, the phrases the
synthetic population writes, and the default threshold rule. Light: no scikit-learn here,
so ``profiles.derive`` can add the (unknown) tag columns without importing a model.

>>> [t.name for t in load_chains().tags][:2]
['chain_ic', 'chain_biomed']
>>> load_chains().tag("chain_ic").label
'集成电路'
>>> chain_columns()["chain_ic_p"]
Float64
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import polars as pl
from ruamel.yaml import YAML

from profiles.tags.errors import UnknownTagError

PROBABILITY_SUFFIX = "_p"


@dataclass(frozen=True, kw_only=True)
class ChainTag:
    """One industry-chain tag and the wording of its synthetic business scopes."""

    name: str
    label: str
    phrases: tuple[str, ...]
    weak: tuple[str, ...]
    industries: dict[str, float]
    base_rate: float

    @property
    def probability_column(self) -> str:
        return self.name + PROBABILITY_SUFFIX


@dataclass(frozen=True, kw_only=True)
class Chains:
    version: int
    tags: tuple[ChainTag, ...]
    generic: tuple[str, ...]
    target_precision: float
    max_missed: float

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tags)

    def tag(self, name: str) -> ChainTag:
        """The tag called ``name`` (tag name or Chinese label)."""
        for t in self.tags:
            if name in (t.name, t.label):
                return t
        raise UnknownTagError(name, self.names)


@cache
def load_chains() -> Chains:
    """The bundled chain tags (read once)."""
    text = resources.files("profiles").joinpath("data/chains.yaml").read_text(encoding="utf-8")
    raw = YAML(typ="safe").load(text)
    tags = tuple(
        ChainTag(
            name=str(t["name"]),
            label=str(t["label"]),
            phrases=tuple(str(p) for p in t["phrases"]),
            weak=tuple(str(p) for p in t["weak"]),
            industries={str(k): float(v) for k, v in t["industries"].items()},
            base_rate=float(t["base_rate"]),
        )
        for t in raw["tags"]
    )
    rule = raw["threshold_rule"]
    return Chains(
        version=int(raw["version"]),
        tags=tags,
        generic=tuple(str(p) for p in raw["generic"]),
        target_precision=float(rule["target_precision"]),
        max_missed=float(rule["max_missed"]),
    )


def chain_columns() -> dict[str, pl.DataType]:
    """Snapshot columns of the chain tags: ``<tag>`` (Boolean) and ``<tag>_p`` (Float64)."""
    out: dict[str, pl.DataType] = {}
    for t in load_chains().tags:
        out[t.name] = pl.Boolean()
        out[t.probability_column] = pl.Float64()
    return out
