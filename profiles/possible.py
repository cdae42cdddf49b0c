"""Still-possible values of a derived tag whose exact value the known inputs leave open.

A derived tag with a fixed list of values (catalog ``values``) and ``possible: true`` is
carried with a second column, :func:`possible_column` (``size_class__possible``): a bit mask
(``UInt8``) of the values the known inputs still allow, bit ``i`` for ``values[i]``. A firm
known to be an SME by its revenue alone, whatever its headcount, has ``size_class`` null and
the mask {中型, 小型, 微型}. The exact value is set exactly when one value is possible; a null
mask says nothing (every value possible, as for a frame built without it).

A condition ``tag in [...]`` / ``tag = "..."`` (and their negations) is then decided by the
mask when the tag is null (:mod:`rules.possible`): TRUE when every possible value is listed,
FALSE when none is, UNKNOWN otherwise. Masks are compared as whole numbers (``in`` a short
list of masks), which every engine can do without bitwise operators.

>>> values = ("大型", "中型", "小型", "微型")
>>> mask_of(values, ["中型", "小型", "微型"])
14
>>> members(values, 14)
('中型', '小型', '微型')
>>> masks_within(values, {"中型", "小型", "微型"})
(2, 4, 6, 8, 10, 12, 14)
>>> masks_outside(values, {"中型", "小型", "微型"})
(1,)
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

#: the dtype of a possible-set column (at most 8 values)
MASK_DTYPE = pl.UInt8()


def possible_column(name: str) -> str:
    """The column holding the still-possible values of tag ``name``."""
    return f"{name}__possible"


def mask_of(values: tuple[str, ...], chosen: Iterable[str]) -> int:
    """The mask of ``chosen`` among ``values`` (names not in ``values`` are ignored)."""
    picked = set(chosen)
    return sum(1 << i for i, v in enumerate(values) if v in picked)


def members(values: tuple[str, ...], mask: int) -> tuple[str, ...]:
    """The values a mask holds, in catalog order."""
    return tuple(v for i, v in enumerate(values) if mask >> i & 1)


def masks_within(values: tuple[str, ...], listed: Iterable[str]) -> tuple[int, ...]:
    """Every non-empty mask whose values are all listed: the tag is surely in ``listed``."""
    inside = mask_of(values, listed)
    return tuple(m for m in range(1, 1 << len(values)) if m & ~inside == 0)


def masks_outside(values: tuple[str, ...], listed: Iterable[str]) -> tuple[int, ...]:
    """Every non-empty mask with no listed value: the tag is surely not in ``listed``."""
    inside = mask_of(values, listed)
    return tuple(m for m in range(1, 1 << len(values)) if m & inside == 0)
