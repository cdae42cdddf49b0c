"""What a misspelt name probably meant: a suggestion only where it is the same thing written
differently, never another thing that merely looks alike (another city's policy, another
legal status)."""

from __future__ import annotations

import difflib
from collections.abc import Sequence


def suggest(word: str, pool: Sequence[str]) -> str | None:
    found = difflib.get_close_matches(word, list(pool), n=1, cutoff=0.5)
    return found[0] if found else None


def suggest_policy(policy_id: str, known: Sequence[str]) -> str | None:
    """A close spelling of a known policy id with the same first segment (its region or tax:
    ``bj-``, ``gz-``, ``cit-``): ``xz-elderly-allowance`` is not a typo of
    ``bj-elderly-allowance`` but another city's policy, so it gets no suggestion.

    >>> suggest_policy("cit-small-low-proft", ["cit-small-low-profit", "iit-small"])
    'cit-small-low-profit'
    >>> suggest_policy("xz-elderly-allowance", ["bj-elderly-allowance"]) is None
    True
    """
    head = policy_id.split("-", 1)[0]
    return suggest(policy_id, [k for k in known if k.split("-", 1)[0] == head])


def suggest_value(value: str, values: Sequence[str]) -> str | None:
    """The allowed value meant by ``value``: the one value that contains it (一般 -> 一般纳税人),
    or a close spelling. One differing character between two-character values is no typo
    (吊销 and 注销, 中型 and 大型 are different things): no suggestion then.

    >>> suggest_value("小规模", ["小规模纳税人", "一般纳税人"])
    '小规模纳税人'
    >>> suggest_value("撤销", ["存续", "吊销", "注销"]) is None
    True
    """
    within = [v for v in values if value and value in v]
    if len(within) == 1:
        return within[0]
    found = difflib.get_close_matches(value, list(values), n=1, cutoff=0.6)
    return found[0] if found else None
