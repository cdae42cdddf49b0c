"""Which branches of a case or tier amount are still possible, and the amount they decide.

A case amount takes the first case whose ``when`` is TRUE; a tier amount the last row whose
threshold ``by >= from`` is met. With three values a branch is *still possible* when the
known data do not rule it out: a case whose ``when`` is TRUE or UNKNOWN and after no TRUE
case; a tier whose own threshold is not FALSE and whose next threshold is not TRUE. "No
branch" (:data:`NO_BRANCH`: no case holds, or the value is below the first row) is possible
too and its amount is UNKNOWN. The amount is decided when every still-possible branch gives
the same known amount (a firm known to be an SME whatever its headcount gets the SME rate),
and UNKNOWN otherwise (:func:`agreed`). With every selector known exactly one branch is
possible: the usual first-match / last-row rule.

This module is the specification of the core nodes :class:`rules.ast.Tiers` and
:class:`rules.ast.Cases` (what a written tier table or case amount becomes,
:func:`rules.model.amount_expr`); every engine (the interpreter, the polars compiler, the
event engine, the bench peers) computes the same possible set in its rule for those nodes.

>>> case_branches([None, False, True, True])
[0, 2]
>>> case_branches([False, None])
[1, -1]
>>> tier_branches([True, None, False])
[0, 1]
>>> tier_branches([None, None])
[-1, 0, 1]
>>> agreed([3000.0, 3000.0]), agreed([3000.0, 1500.0]), agreed([3000.0, None])
(3000.0, None, None)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

Truth = bool | None

#: the branch "no case holds" / "below the first tier": its amount is UNKNOWN
NO_BRANCH = -1


def case_branches(whens: Sequence[Truth]) -> list[int]:
    """Indices of the cases still possible, given the truth of each case's ``when`` (an
    ``else`` case is TRUE); :data:`NO_BRANCH` last when it may be that no case holds."""
    out: list[int] = []
    for i, when in enumerate(whens):
        if when is False:
            continue
        out.append(i)
        if when is True:
            return out
    out.append(NO_BRANCH)
    return out


def tier_branches(meets: Sequence[Truth]) -> list[int]:
    """Indices of the tiers still possible, given for each row (ascending thresholds) the
    truth of ``by >= from``; :data:`NO_BRANCH` first when the value may be below the first
    row."""
    out: list[int] = []
    for i in range(-1, len(meets)):
        own: Truth = True if i < 0 else meets[i]
        following: Truth = False if i + 1 == len(meets) else meets[i + 1]
        if own is not False and following is not True:
            out.append(i)
    return out


def agreed(values: Iterable[Any]) -> Any:
    """The amount every still-possible branch gives (the values of those branches, None
    for an UNKNOWN one or for :data:`NO_BRANCH`), or None when they differ or one is
    UNKNOWN."""
    found: list[Any] = []
    for value in values:
        if value is None:
            return None
        found.append(value)
    if not found or any(v != found[0] for v in found[1:]):
        return None
    return found[0]
