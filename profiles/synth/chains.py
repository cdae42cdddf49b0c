"""Industry-chain membership and chain-correlated business scopes for synthetic enterprises,
and the labelled table (``labels.csv``) a tag model is trained on.

A firm belongs to a chain with a probability set by its industry class
(``profiles/data/chains.yaml``). Its 经营范围 then carries the chain's phrases, but not
always cleanly, so the classifier is not trivially perfect:

- most members write one or two of the chain's specific phrases, some a weak phrase too;
  15 % write only weak phrases, which firms outside the chain also write;
- 4 % of non-members write a weak phrase of the chain (a trader of 电子元器件, say);
- a third of all firms add a generic phrase (技术服务、技术开发…, 货物进出口…);
- in the labelled table a member is missed with probability 2 % and a non-member tagged
  with probability 0.05 % (label noise).

Everything here draws from its own generator, so the other synthetic columns stay the same.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from profiles.synth.names import SCOPE_SUFFIX
from profiles.tags.vocabulary import load_chains

WEAK_ONLY = 0.15
WEAK_TOO = 0.4
DECOY = 0.04
GENERIC = 0.33
MISSED_LABEL = 0.02
WRONG_LABEL = 0.0005
TAG_SEPARATOR = ";"


def memberships(rng: np.random.Generator, industry_codes: pl.Series) -> np.ndarray:
    """(n, n_tags) boolean: which chains each firm belongs to."""
    tags = load_chains().tags
    codes = industry_codes.to_list()
    out = np.zeros((len(codes), len(tags)), dtype=bool)
    for j, tag in enumerate(tags):
        p = np.array([tag.industries.get(c, tag.base_rate) for c in codes])
        out[:, j] = rng.random(len(codes)) < p
    return out


def _pick(rng: np.random.Generator, options: tuple[str, ...], k: int) -> list[str]:
    idx = rng.choice(len(options), size=min(k, len(options)), replace=False)
    return [options[i] for i in idx]


def _extra_phrases(rng: np.random.Generator, member: np.ndarray) -> list[str]:
    chains = load_chains()
    extra: list[str] = []
    for j, tag in enumerate(chains.tags):
        if member[j]:
            if rng.random() < WEAK_ONLY:
                extra += _pick(rng, tag.weak, 1 + int(rng.random() < 0.5))
            else:
                extra += _pick(rng, tag.phrases, 1 + int(rng.random() < 0.5))
                if rng.random() < WEAK_TOO:
                    extra += _pick(rng, tag.weak, 1)
        elif rng.random() < DECOY:
            extra += _pick(rng, tag.weak, 1)
    if rng.random() < GENERIC:
        extra += _pick(rng, chains.generic, 1)
    return extra


def chain_scopes(
    rng: np.random.Generator, scopes: pl.Series, member: np.ndarray
) -> pl.Series:
    """``scopes`` (phrases joined by '；' + the standard suffix) with the chain phrases of
    each firm mixed in; phrases are not repeated."""
    out: list[str] = []
    for scope, row in zip(scopes.to_list(), member, strict=True):
        extra = _extra_phrases(rng, row)
        if not extra:
            out.append(scope)
            continue
        base = scope.removesuffix(SCOPE_SUFFIX).split("；")
        phrases = list(dict.fromkeys(base + extra))
        order = rng.permutation(len(phrases))
        out.append("；".join(phrases[i] for i in order) + SCOPE_SUFFIX)
    return pl.Series("business_scope", out, dtype=pl.String)


def labelled_table(
    rng: np.random.Generator,
    uscc: pl.Series,
    scopes: pl.Series,
    member: np.ndarray,
    *,
    share: float,
) -> pl.DataFrame:
    """The labelled sample: ``uscc, business_scope, tags`` for ``share`` of the firms, with
    ``tags`` the ';'-joined tag names (empty when none) after label noise."""
    n = len(uscc)
    chosen = rng.random(n) < share
    flip = np.where(member, rng.random(member.shape) < MISSED_LABEL,
                    rng.random(member.shape) < WRONG_LABEL)
    labels = member ^ flip
    names = load_chains().names
    idx = np.flatnonzero(chosen)
    tags = [TAG_SEPARATOR.join(names[j] for j in np.flatnonzero(labels[i])) for i in idx]
    return pl.DataFrame(
        {
            "uscc": uscc.gather(idx),
            "business_scope": scopes.gather(idx),
            "tags": pl.Series(tags, dtype=pl.String),
        }
    )
