"""Three-valued aggregates over related entities: the specification, one definition each.

An aggregate's value is an :class:`Interval` ``[lo, hi]``: every value the aggregate could
take once the UNKNOWN data were known lies in it; ``None`` for a bound means "no bound known".
A member whose filter is UNKNOWN may or may not count; a member whose value is UNKNOWN may
have any value. A comparison is decided whenever every value of the interval decides it the
same way (:func:`compare`); ``count(...) >= 2`` with two members known to qualify and one
UNKNOWN is TRUE, with one known and one UNKNOWN it is UNKNOWN, with one known and none
UNKNOWN it is FALSE. Scalars are intervals of one point.

The interpreter (:mod:`rules.interpret`) calls these functions per owner; the polars compiler
(:mod:`rules.compile_related`) computes the same bounds with a join and a group-by; the
property tests hold it to these.

>>> count([True, True, None])
Interval(lo=2, hi=3)
>>> compare(">=", count([True, True, None]), 2), compare(">=", count([True, None]), 2)
(True, None)
>>> compare(">=", count([True, False]), 2)
False
>>> total([(True, 10), (None, 5), (None, -2)])
Interval(lo=8, hi=15)
>>> least([(True, 30), (None, 20)]), least([(None, 20)])
(Interval(lo=20, hi=30), Interval(lo=None, hi=None))
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

Truth = bool | None


@dataclass(frozen=True)
class Interval:
    """Every value an aggregate can take: ``lo <= value <= hi``; None = no known bound."""

    lo: Any
    hi: Any

    @property
    def exact(self) -> Any:
        """The value when the interval is one known point, else None (UNKNOWN)."""
        return self.lo if self.lo is not None and self.lo == self.hi else None


UNBOUNDED = Interval(None, None)


def point(value: Any) -> Interval:
    """A known value (or UNKNOWN, None) as an interval."""
    return value if isinstance(value, Interval) else Interval(value, value)


def count(truths: Iterable[Truth]) -> Interval:
    """Members whose filter is TRUE (lo) and TRUE or UNKNOWN (hi)."""
    vals = list(truths)
    known = sum(1 for t in vals if t is True)
    return Interval(known, known + sum(1 for t in vals if t is None))


def total(pairs: Iterable[tuple[Truth, Any]]) -> Interval:
    """Sum of values of the members whose filter holds. A member whose filter is UNKNOWN
    adds between 0 and its value; a counted member with an UNKNOWN value leaves the sum
    without bounds. No member: exactly 0."""
    lo: Any = 0
    hi: Any = 0
    for truth, value in pairs:
        if truth is False:
            continue
        if value is None:
            return UNBOUNDED
        if truth is True:
            lo, hi = lo + value, hi + value
        else:
            lo, hi = lo + min(0, value), hi + max(0, value)
    return Interval(lo, hi)


def _extreme(pairs: Iterable[tuple[Truth, Any]], *, smallest: bool) -> Interval:
    pick = min if smallest else max
    sure: list[Any] = []  # filter TRUE, value known
    maybe: list[Any] = []  # filter UNKNOWN, value known
    unknown_value = False  # some member that may count has an UNKNOWN value
    for truth, value in pairs:
        if truth is False:
            continue
        if value is None:
            unknown_value = True
        elif truth is True:
            sure.append(value)
        else:
            maybe.append(value)
    if not sure:  # possibly no member at all, or only UNKNOWN values: nothing decides
        return UNBOUNDED
    near = pick(sure)  # the bound the sure members fix
    far = None if unknown_value else pick(sure + maybe)
    return Interval(far, near) if smallest else Interval(near, far)


def least(pairs: Iterable[tuple[Truth, Any]]) -> Interval:
    """Minimum of the values of members whose filter holds; UNKNOWN (no bounds) when no
    member surely counts."""
    return _extreme(pairs, smallest=True)


def greatest(pairs: Iterable[tuple[Truth, Any]]) -> Interval:
    """Maximum, as :func:`least`."""
    return _extreme(pairs, smallest=False)


def compare(op: str, left: Any, right: Any) -> Truth:
    """A comparison decided when all values of both intervals decide it alike.

    >>> compare("=", Interval(0, 0), 0), compare("=", Interval(0, 2), 0)
    (True, None)
    >>> compare("<", Interval(None, 3), 5), compare("!=", Interval(4, 6), 9)
    (True, True)
    """
    a, b = point(left), point(right)

    def lt(x: Any, y: Any) -> bool:
        return x is not None and y is not None and x < y

    def le(x: Any, y: Any) -> bool:
        return x is not None and y is not None and x <= y

    if op in ("=", "!="):
        equal: Truth = None
        if a.exact is not None and b.exact is not None and a.exact == b.exact:
            equal = True
        elif lt(a.hi, b.lo) or lt(b.hi, a.lo):
            equal = False
        elif a.exact is not None and b.exact is not None:
            equal = False  # unordered values (strings) that differ
        return equal if op == "=" or equal is None else not equal
    if op == "<":
        return True if lt(a.hi, b.lo) else False if le(b.hi, a.lo) else None
    if op == "<=":
        return True if le(a.hi, b.lo) else False if lt(b.hi, a.lo) else None
    if op == ">":
        return True if lt(b.hi, a.lo) else False if le(a.hi, b.lo) else None
    return True if le(b.hi, a.lo) else False if lt(a.hi, b.lo) else None


def _known(*values: Any) -> bool:
    return all(v is not None for v in values)


def arith(op: str, left: Any, right: Any) -> Interval:
    """Interval arithmetic: ``+`` and ``-`` bound by bound, ``*`` and ``/`` over the four
    corners when every bound is known (a divisor interval that holds 0 is UNKNOWN).

    >>> arith("-", Interval(10, 20), Interval(1, 2))
    Interval(lo=8, hi=19)
    >>> arith("/", Interval(10, 20), 2), arith("/", Interval(10, 20), Interval(0, 2))
    (Interval(lo=5.0, hi=10.0), Interval(lo=None, hi=None))
    """
    a, b = point(left), point(right)
    if op == "+":
        return Interval(a.lo + b.lo if _known(a.lo, b.lo) else None,
                        a.hi + b.hi if _known(a.hi, b.hi) else None)
    if op == "-":
        return Interval(a.lo - b.hi if _known(a.lo, b.hi) else None,
                        a.hi - b.lo if _known(a.hi, b.lo) else None)
    if not _known(a.lo, a.hi, b.lo, b.hi):
        return UNBOUNDED
    if op == "*":
        corners = [a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi]
    else:
        if b.lo <= 0 <= b.hi:
            return UNBOUNDED
        corners = [a.lo / b.lo, a.lo / b.hi, a.hi / b.lo, a.hi / b.hi]
    return Interval(min(corners), max(corners))


def negate(value: Any) -> Interval:
    a = point(value)
    return Interval(None if a.hi is None else -a.hi, None if a.lo is None else -a.lo)
