"""Per-tag thresholds, and the three values they give a probability.

Mapping (``three_valued``): p >= high -> TRUE; p <= low -> FALSE; otherwise UNKNOWN; a
missing probability (no business scope) -> UNKNOWN.

Choice (``choose_thresholds``), on held-out rows (probability, label):

- ``high``: the smallest observed probability t whose TRUE set {p >= t} has precision at
  least ``target_precision`` (the largest TRUE set that is still precise enough); when none
  reaches it, just above 1: nothing is ever TRUE.
- ``low``: the largest observed probability t whose FALSE set {p <= t} holds at most
  ``max_missed`` of the labelled positives (a FALSE wrongly denies a chain firm at most
  that often); when no t qualifies or there are no positives, just below 0: nothing is ever
  FALSE. (Negative predictive value is no guide here: chain tags are rare, so even "all
  FALSE" has an NPV near 0.98; the card reports it all the same.)
- if ``low >= high`` (both easy), ``low`` is moved just below ``high``: TRUE wins.

>>> import numpy as np
>>> p = np.array([0.02, 0.1, 0.3, 0.6, 0.9, 0.97])
>>> y = np.array([0, 0, 1, 0, 1, 1])
>>> t = choose_thresholds(p, y, target_precision=0.95, max_missed=0.05)
>>> (t.low, t.high)
(0.1, 0.9)
>>> three_valued(np.array([0.05, 0.5, 0.95, np.nan]), t)
[False, None, True, None]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

NEVER_TRUE = math.nextafter(1.0, 2.0)
NEVER_FALSE = math.nextafter(0.0, -1.0)


@dataclass(frozen=True, kw_only=True)
class Thresholds:
    """p >= high -> TRUE, p <= low -> FALSE, otherwise UNKNOWN (low < high)."""

    low: float
    high: float


@dataclass(frozen=True, kw_only=True)
class TagMetrics:
    """Held-out quality of one tag at its thresholds. ``precision`` is that of the TRUE set
    (None when it is empty), ``recall`` the share of labelled positives that are TRUE,
    ``missed`` the share of labelled positives that are FALSE, ``npv`` the share of the
    FALSE set labelled negative, ``unknown_share`` the share of
    rows left UNKNOWN."""

    precision: float | None
    recall: float | None
    missed: float | None
    npv: float | None
    unknown_share: float
    true_share: float
    rows: int
    positives: int


def _validated(p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(p, dtype=np.float64)
    y = np.asarray(y).astype(np.int64)
    if p.shape != y.shape or p.ndim != 1:
        raise ValueError(
            f"expected probabilities and labels of one shape (n,), got {p.shape} and {y.shape}"
        )
    keep = ~np.isnan(p)
    return p[keep], y[keep]


def choose_thresholds(
    p: np.ndarray, y: np.ndarray, *, target_precision: float, max_missed: float
) -> Thresholds:
    """Thresholds for one tag from held-out probabilities ``p`` and 0/1 labels ``y``."""
    p, y = _validated(p, y)
    if p.size == 0:
        return Thresholds(low=NEVER_FALSE, high=NEVER_TRUE)
    order = np.argsort(p, kind="stable")
    sp, sy = p[order], y[order]
    cum_pos = np.concatenate([[0], np.cumsum(sy)])  # positives among the k smallest
    n, total_pos = sp.size, int(cum_pos[-1])
    cand = np.unique(sp)
    below = np.searchsorted(sp, cand, side="left")  # count p < t
    upto = np.searchsorted(sp, cand, side="right")  # count p <= t
    precision = (total_pos - cum_pos[below]) / (n - below)
    missed = cum_pos[upto] / max(total_pos, 1)
    ok_high = cand[precision >= target_precision]
    ok_low = cand[missed <= max_missed] if total_pos else cand[:0]
    high = float(ok_high.min()) if ok_high.size else NEVER_TRUE
    low = float(ok_low.max()) if ok_low.size else NEVER_FALSE
    if low >= high:
        low = math.nextafter(high, -1.0)
    return Thresholds(low=low, high=high)


def three_valued(p: np.ndarray, thresholds: Thresholds) -> list[bool | None]:
    """TRUE / FALSE / UNKNOWN (None) per probability; NaN (no scope) is UNKNOWN."""
    arr = np.asarray(p, dtype=np.float64)
    out = np.full(arr.shape, None, dtype=object)
    is_true = arr >= thresholds.high  # NaN compares False both ways
    out[(arr <= thresholds.low) & ~is_true] = False
    out[is_true] = True
    values: list[bool | None] = out.tolist()
    return values


def measure(p: np.ndarray, y: np.ndarray, thresholds: Thresholds) -> TagMetrics:
    """Precision, recall, NPV and UNKNOWN share of ``thresholds`` on held-out rows."""
    p, y = _validated(p, y)
    is_true = p >= thresholds.high
    is_false = (p <= thresholds.low) & ~is_true
    n, pos = p.size, int(y.sum())
    tp = int((is_true & (y == 1)).sum())
    tn = int((is_false & (y == 0)).sum())
    return TagMetrics(
        precision=tp / int(is_true.sum()) if is_true.any() else None,
        recall=tp / pos if pos else None,
        missed=int((is_false & (y == 1)).sum()) / pos if pos else None,
        npv=tn / int(is_false.sum()) if is_false.any() else None,
        unknown_share=float((~is_true & ~is_false).sum() / n) if n else 0.0,
        true_share=float(is_true.sum() / n) if n else 0.0,
        rows=n,
        positives=pos,
    )
