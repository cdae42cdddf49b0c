"""Pieces shared by the enterprise and person generators: districts, dates, masks, phones."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from profiles.regions import load_regions

# City prefix -> share of the population.
# 陕西 and 新疆 (the seeds' other regions) are smaller, but present in every population.
CITY_SHARES: dict[str, float] = {
    "4401": 0.28, "31": 0.25, "11": 0.26, "4403": 0.14, "61": 0.04, "65": 0.03
}


#: The districts synthetic entities live in: every district of 北京, 上海, 广州 and 深圳, and a
#: few of 西安, 咸阳 (杨陵区), 乌鲁木齐 and 喀什 (南疆, one of the 新疆困难地区). The national
#: table (:mod:`profiles.regions`) holds every county of China; populations are drawn from
#: these so that they stay the same.
SYNTH_DISTRICTS: tuple[str, ...] = (
    "110101", "110102", "110105", "110106", "110107", "110108", "110109", "110111", "110112",
    "110113", "110114", "110115", "110116", "110117", "110118", "110119",
    "310101", "310104", "310105", "310106", "310107", "310109", "310110", "310112", "310113",
    "310114", "310115", "310116", "310117", "310118", "310120", "310151",
    "440103", "440104", "440105", "440106", "440111", "440112", "440113", "440114", "440115",
    "440117", "440118",
    "440303", "440304", "440305", "440306", "440307", "440308", "440309", "440310", "440311",
    "610102", "610103", "610104", "610113", "610403",
    "650102", "650103", "650104", "650105", "653101",
)


def districts_of(prefix: str) -> list[str]:
    """The synthetic districts inside the region of code ``prefix`` (all in the table)."""
    known = load_regions().by_code
    return sorted(c for c in SYNTH_DISTRICTS if c.startswith(prefix) and c in known)


def pick_districts(
    rng: np.random.Generator, n: int, shares: dict[str, float]
) -> tuple[np.ndarray, np.ndarray]:
    """(6-digit district codes as integers, city index into ``shares``) for ``n`` entities."""
    prefixes = list(shares)
    p = np.array([shares[c] for c in prefixes])
    city = rng.choice(len(prefixes), size=n, p=p / p.sum())
    codes = np.zeros(n, dtype=np.int64)
    for i, prefix in enumerate(prefixes):
        pool = np.array([int(c) for c in districts_of(prefix)])
        where = city == i
        codes[where] = pool[rng.integers(0, len(pool), size=int(where.sum()))]
    return codes, city


def digits(values: np.ndarray, width: int) -> np.ndarray:
    """(n, width) uint8 ASCII digits of non-negative integers, zero-padded."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((values[:, None] // powers) % 10 + ord("0")).astype(np.uint8)


def as_text(codes: np.ndarray) -> pl.Series:
    """Strings from an (n, width) uint8 ASCII array."""
    width = codes.shape[1]
    return pl.Series(np.ascontiguousarray(codes).view(f"S{width}").ravel()).cast(pl.String)


def pick(options: tuple[str, ...] | list[str], idx: np.ndarray) -> pl.Series:
    """``options[idx]`` as a polars string column (fast, no numpy unicode arrays)."""
    return pl.Series(list(options), dtype=pl.String).gather(idx)


def days_before(reference: date, days: np.ndarray) -> pl.Series:
    """Dates ``days`` days before ``reference`` (a polars Date series)."""
    base = np.datetime64(reference.isoformat(), "D")
    return pl.Series((base - days.astype("timedelta64[D]")).astype("datetime64[D]"))


def phones(rng: np.random.Generator, n: int) -> pl.Series:
    prefixes = np.array(
        [130, 131, 135, 136, 138, 139, 150, 152, 158, 159, 176, 180, 186, 188, 189, 199]
    )
    number = prefixes[rng.integers(0, len(prefixes), size=n)] * 100_000_000 + rng.integers(
        0, 100_000_000, size=n
    )
    return as_text(digits(number, 11))


def with_missing(
    rng: np.random.Generator, frame: pl.DataFrame, *, keep: tuple[str, ...]
) -> pl.DataFrame:
    """Blank 3-5 % of the values of every column not in ``keep`` (keys, list-type fields)."""
    n = frame.height
    out = []
    for name in frame.columns:
        if name in keep or n == 0:
            out.append(pl.col(name))
            continue
        blank = pl.Series(rng.random(n) < rng.uniform(0.03, 0.05))
        out.append(pl.when(blank).then(None).otherwise(pl.col(name)).alias(name))
    return frame.select(out)


def choose_idx(rng: np.random.Generator, p: tuple[float, ...], n: int) -> np.ndarray:
    weights = np.array(p, dtype=float)
    return rng.choice(len(p), size=n, p=weights / weights.sum())


def choose(
    rng: np.random.Generator, options: tuple[str, ...], p: tuple[float, ...], n: int
) -> pl.Series:
    return pick(options, choose_idx(rng, p, n))


def where_or_null(mask: np.ndarray, values: np.ndarray | bool, *, dtype: pl.DataType) -> pl.Series:
    """``values`` where ``mask`` holds, null elsewhere."""
    frame = pl.DataFrame({"m": mask, "v": np.broadcast_to(values, mask.shape)})
    return frame.select(pl.when(pl.col("m")).then(pl.col("v")).cast(dtype)).to_series()


def merge_department(frames: dict[str, pl.DataFrame], dept: str, extra: pl.DataFrame,
                     key: str) -> None:
    """Add ``extra``'s columns to the department's frame (a full join on ``key``, in the
    frame's order, so one seed gives the same files), or add the department when it has none."""
    if dept in frames:
        frames[dept] = frames[dept].join(extra, on=key, how="full", coalesce=True,
                                         maintain_order="left_right")
    else:
        frames[dept] = extra


def ages_on(police: pl.DataFrame, reference: date) -> np.ndarray:
    """Each person's age in years on ``reference`` (0 where the birth date is missing)."""
    return police.select(
        ((pl.lit(reference) - pl.col("birth_date")).dt.total_days() / 365.25).fill_null(0.0)
    ).to_series().to_numpy()
