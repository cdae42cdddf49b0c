"""Synthetic persons: one typed frame per department extract, vectorised with numpy."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from profiles.idcheck import id_number_with_check
from profiles.synth.common import (
    as_text,
    choose,
    choose_idx,
    days_before,
    digits,
    phones,
    pick,
    pick_districts,
    where_or_null,
    with_missing,
)
from profiles.synth.names import GIVEN_CHARS, SURNAMES

# Hukou: mostly Shanghai and Beijing (most bundled citizen policies are theirs), with 广州,
# 深圳, 陕西 and 新疆.
HUKOU_SHARES: dict[str, float] = {
    "31": 0.33, "11": 0.31, "4401": 0.15, "4403": 0.12, "61": 0.05, "65": 0.04
}
# Age bands (first, last, share): enough people over 65, 80, 90 and 100.
AGE_BANDS: tuple[tuple[int, int, float], ...] = (
    (0, 2, 0.03),
    (3, 17, 0.12),
    (18, 48, 0.36),
    (49, 64, 0.22),
    (65, 79, 0.16),
    (80, 89, 0.07),
    (90, 99, 0.035),
    (100, 105, 0.005),
)


def _ages(rng: np.random.Generator, n: int) -> np.ndarray:
    shares = np.array([b[2] for b in AGE_BANDS])
    band = rng.choice(len(AGE_BANDS), size=n, p=shares / shares.sum())
    first = np.array([b[0] for b in AGE_BANDS])[band]
    last = np.array([b[1] for b in AGE_BANDS])[band]
    return first + (rng.random(n) * (last - first + 1)).astype(np.int64)


def unique_ids(
    rng: np.random.Generator, districts: np.ndarray, births: pl.Series, male: np.ndarray
) -> pl.Series:
    """Valid, distinct 公民身份号码 (sequence odd for men, even for women)."""
    n = len(districts)
    parts = [births.dt.year(), births.dt.month(), births.dt.day()]
    y, m, d = (p.cast(pl.Int64).to_numpy() for p in parts)
    ymd = y * 10000 + m * 100 + d
    head = np.concatenate([digits(districts, 6), digits(ymd.astype(np.int64), 8)], axis=1)
    seq = rng.integers(0, 500, size=n) * 2 + male.astype(np.int64)
    while True:
        first17 = np.concatenate([head, digits(seq, 3)], axis=1)
        ids = id_number_with_check(first17).alias("id_number")
        redraw = (ids.is_duplicated() & ~ids.is_first_distinct()).to_numpy()
        if not redraw.any():
            return ids
        seq[redraw] = rng.integers(0, 500, size=int(redraw.sum())) * 2 + male[redraw]


def _names(rng: np.random.Generator, n: int) -> pl.Series:
    surnames = [s for s, _ in SURNAMES]
    given = [*GIVEN_CHARS, ""]
    second = np.where(
        rng.random(n) < 0.7, rng.integers(0, len(GIVEN_CHARS), size=n), len(GIVEN_CHARS)
    )
    frame = pl.DataFrame(
        {
            "s": pick(surnames, choose_idx(rng, tuple(w for _, w in SURNAMES), n)),
            "a": pick(given, rng.integers(0, len(GIVEN_CHARS), size=n)),
            "b": pick(given, second),
        }
    )
    return frame.select(pl.concat_str("s", "a", "b")).to_series()


def persons(rng: np.random.Generator, n: int, *, reference: date) -> dict[str, pl.DataFrame]:
    """Department extracts (typed, with missing values) for ``n`` persons."""
    district, _ = pick_districts(rng, n, HUKOU_SHARES)
    age = _ages(rng, n)
    births = days_before(reference, (age * 365.25 + rng.integers(0, 365, size=n)).astype(np.int64))
    male = rng.random(n) < 0.49
    ids = unique_ids(rng, district, births, male)
    alive = rng.random(n) > np.where(age >= 90, 0.05, 0.005)
    young_parent = (age >= 20) & (age <= 45)
    kids = np.where(young_parent, choose_idx(rng, (0.91, 0.08, 0.01), n), 0)
    police = pl.DataFrame(
        {
            "id_number": ids,
            "name": _names(rng, n),
            "birth_date": births,
            "hukou_district": as_text(digits(district, 6)),
            "alive": alive,
            "children_under_3": kids,
        }
    )
    extracts = {"公安": with_missing(rng, police, keep=("id_number",))}
    extracts["残联"] = _disability(rng, ids, age)
    # 救助身份: about one disabled person in eight is on 低保, several times the overall share
    disabled = ids.is_in(extracts["残联"]["id_number"].implode()).to_numpy()
    status = np.where(
        disabled,
        choose_idx(rng, (0.12, 0.01, 0.06, 0.81), n),
        choose_idx(rng, (0.02, 0.003, 0.025, 0.952), n),
    )
    listed = np.flatnonzero(status < 3)
    extracts["民政"] = pl.DataFrame(
        {
            "id_number": ids.gather(listed),
            "subsistence_status": pick(("低保", "特困", "低收入"), status[listed]),
        }
    )
    adults = np.flatnonzero(age >= 16)
    working_age = (age[adults] <= 64) & (rng.random(len(adults)) < 0.72)
    extracts["人社"] = with_missing(
        rng,
        pl.DataFrame({"id_number": ids.gather(adults), "employed": working_age}),
        keep=("id_number",),
    )
    extracts["卫健"] = _only_child(rng, ids, age)
    has_phone = np.flatnonzero(rng.random(n) < 0.7)
    extracts["本人"] = pl.DataFrame(
        {"id_number": ids.gather(has_phone), "phone": phones(rng, len(has_phone))}
    )
    return extracts


def _disability(rng: np.random.Generator, ids: pl.Series, age: np.ndarray) -> pl.DataFrame:
    """残联: disabled persons (about 6 %), and parents whose only child is disabled."""
    disabled = np.flatnonzero(rng.random(len(age)) < np.where(age >= 65, 0.11, 0.045))
    m = len(disabled)
    grade = choose_idx(rng, (0.1, 0.25, 0.3, 0.35), m) + 1
    category = choose(
        rng,
        ("视力", "听力", "言语", "肢体", "智力", "精神", "多重"),
        (0.14, 0.24, 0.02, 0.36, 0.07, 0.09, 0.08),
        m,
    )
    return pl.DataFrame(
        {
            "id_number": ids.gather(disabled),
            "disability_grade": grade,
            "disability_category": category,
        }
    )


def _only_child(rng: np.random.Generator, ids: pl.Series, age: np.ndarray) -> pl.DataFrame:
    """卫健: 独生子女 died or disabled, rare, for parents of 49 and over; the 残联 grade of the
    disabled child rides along (only_child_disability_grade)."""
    draw = rng.random(len(age))
    died = (age >= 49) & (draw < 0.006)
    hurt = (age >= 49) & (draw >= 0.006) & (draw < 0.014)
    idx = np.flatnonzero(died | hurt)
    grade = choose_idx(rng, (0.2, 0.3, 0.3, 0.2), len(idx)) + 1
    return pl.DataFrame(
        {
            "id_number": ids.gather(idx),
            "only_child_status": pick(("伤残", "死亡"), died[idx].astype(np.int64)),
            "only_child_disability_grade": where_or_null(hurt[idx], grade, dtype=pl.Int64()),
        }
    )
