"""Synthetic link tables: the household register (公安) and employment links (人社).

Households: about three adults in four of 22 or more live as a couple (men and women paired
by age rank, so spouses are of similar age), the husband the 户主 seven times in ten; the
others live alone; persons under 22 are 子女 of a couple whose wife is 20-45 years older;
one person in eight aged 75 or more lives with a younger couple as 父母. 3 % of persons are
absent from the register (their household is UNKNOWN to the rules). Households have about
two members on average (many people live alone here; no census figure is claimed).

Employment links: each firm employs up to 40 of its declared headcount from the working-age
population (18-64), hired over the last ten years; a quarter of the links have ended;
insured months follow the period with gaps; wage bases are lognormal around 8000 元 (whole
yuan). 3-5 % of insured months and wage bases are missing.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from profiles.synth.common import with_missing


def _ages(births: pl.Series, reference: date) -> np.ndarray:
    years = (reference.toordinal() - births.cast(pl.Int32).fill_null(-1).to_numpy()
             - date(1970, 1, 1).toordinal()) / 365.25
    return np.where(births.is_null().to_numpy(), 40.0, years)


def households(rng: np.random.Generator, ids: pl.Series, births: pl.Series, *,
               reference: date) -> pl.DataFrame:
    """``household_id, id_number, relation`` for the persons ``ids`` (births may be null:
    such a person is placed as an adult)."""
    n = ids.len()
    age = _ages(births, reference)
    male = (ids.str.slice(16, 1).cast(pl.Int32).to_numpy() % 2) == 1
    household = np.full(n, -1, dtype=np.int64)
    relation = np.full(n, "", dtype=object)
    adult = age >= 22
    men = np.flatnonzero(adult & male)
    women = np.flatnonzero(adult & ~male)
    men = men[np.argsort(age[men] + rng.normal(0, 2, len(men)))]
    women = women[np.argsort(age[women] + rng.normal(0, 2, len(women)))]
    pairs = int(min(len(men), len(women)) * 0.75)
    take_m = np.sort(rng.choice(len(men), pairs, replace=False)) if pairs else np.array([], int)
    take_w = np.sort(rng.choice(len(women), pairs, replace=False)) if pairs else np.array([], int)
    husbands, wives = men[take_m], women[take_w]
    couple_ids = np.arange(pairs)
    husband_heads = rng.random(pairs) < 0.7
    household[husbands] = couple_ids
    household[wives] = couple_ids
    relation[husbands] = np.where(husband_heads, "户主", "配偶")
    relation[wives] = np.where(husband_heads, "配偶", "户主")
    next_id = pairs
    wife_age = age[wives]
    order = np.argsort(wife_age)
    for child in np.flatnonzero(age < 22):
        lo, hi = np.searchsorted(wife_age[order], [age[child] + 20, age[child] + 45])
        if hi > lo:
            household[child] = couple_ids[order[int(rng.integers(lo, hi))]]
            relation[child] = "子女"
    for elder in np.flatnonzero((age >= 75) & (household < 0)):
        if rng.random() < 0.125 and pairs:
            household[elder] = int(rng.integers(0, pairs))
            relation[elder] = "父母"
    for person in np.flatnonzero(household < 0):
        household[person] = next_id
        relation[person] = "户主"
        next_id += 1
    listed = rng.random(n) >= 0.03
    frame = pl.DataFrame({
        "household_id": pl.Series(household).cast(pl.String).str.zfill(9)
        .str.replace(r"^", "H"),
        "id_number": ids,
        "relation": pl.Series(relation.astype(str)),
    })
    return frame.filter(pl.Series(listed)).sort("household_id", "relation")


def employment_links(rng: np.random.Generator, usccs: pl.Series, employees: pl.Series,
                     ids: pl.Series, births: pl.Series, *, reference: date) -> pl.DataFrame:
    """``uscc, id_number, hired_on, left_on, insured_months, wage_base`` for the firms."""
    age = _ages(births, reference)
    workers = ids.gather(np.flatnonzero((age >= 18) & (age <= 64)))
    if workers.len() == 0 or usccs.len() == 0:
        return pl.DataFrame(schema={"uscc": pl.String, "id_number": pl.String,
                                    "hired_on": pl.Date, "left_on": pl.Date,
                                    "insured_months": pl.Int64, "wage_base": pl.Float64})
    heads = np.minimum(employees.fill_null(3).to_numpy(), 40).astype(np.int64)
    owners = np.repeat(np.arange(usccs.len()), heads)
    m = owners.shape[0]
    ref = reference.toordinal() - date(1970, 1, 1).toordinal()
    hired = ref - rng.integers(30, 3650, m)
    ended = rng.random(m) < 0.25
    left = np.minimum(hired + rng.integers(30, 2000, m), ref - 1)
    until = np.where(ended, left, ref)
    months = np.maximum((until - hired) // 30 - rng.integers(0, 4, m), 0)
    frame = pl.DataFrame({
        "uscc": usccs.gather(owners),
        "id_number": workers.gather(rng.integers(0, workers.len(), m)),
        "hired_on": pl.Series(hired.astype(np.int32)).cast(pl.Date),
        "left_on": pl.Series(np.where(ended, left, 0).astype(np.int32)).cast(pl.Date)
        .set(pl.Series(~ended), None),
        "insured_months": months.astype(np.int64),
        "wage_base": np.floor(rng.lognormal(np.log(8000), 0.45, m)),
    })
    frame = frame.unique(subset=["uscc", "id_number", "hired_on"], keep="first",
                         maintain_order=True)
    return with_missing(rng, frame, keep=("uscc", "id_number", "hired_on", "left_on"))
