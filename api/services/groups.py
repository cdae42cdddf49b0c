"""Labels of the district and industry groups shown in charts, tables and exports: GB/T 2260
names for districts, GB/T 4754 division names for industries, 未知 for a missing code; and
one ordering rule (largest first, 未知 last).

>>> district_label("440106"), district_label(None)
('广东省广州市天河区', '未知')
>>> industry_label("5292"), industry_label("99")
('零售业', '99(未收录)')
>>> [r["group"] for r in ordered([{"group": "未知", "n": 9}, {"group": "零售业", "n": 2}],
...                              by="n")]
['零售业', '未知']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from profiles.industries import division_name
from profiles.regions import load_regions

UNKNOWN: Final = "未知"


def district_label(code: str | None) -> str:
    """The GB/T 2260 name of a district code; the code marked 未收录 when the table lacks it."""
    if not code:
        return UNKNOWN
    name = load_regions().name_of(code)
    return name if name else f"{code}(未收录)"


def industry_label(code: str | None) -> str:
    """The GB/T 4754 division (大类) name of an industry code."""
    if not code:
        return UNKNOWN
    name = division_name(code)
    return name if name else f"{code[:2]}(未收录)"


def ordered(rows: Sequence[dict[str, Any]], *, by: str | Sequence[str],
            label: str = "group") -> list[dict[str, Any]]:
    """Rows by ``by`` descending (then label), with the 未知 row last."""
    keys = [by] if isinstance(by, str) else list(by)
    return sorted(rows, key=lambda r: (r[label] == UNKNOWN,
                                       *(-abs(float(r.get(k) or 0)) for k in keys),
                                       str(r[label])))
