"""Build the durable_rules fact of one derived profile row.

Values are coerced by the catalog's types (:func:`matcher.events.values.encode`); an unknown
value is left out of the fact (durable_rules then fails every comparison on it, which is
UNKNOWN); an empty list-type field is marked ``n_<field>`` ("not on the list", which
decides), except when it is empty because of a data defect (``HELD_FIELDS``: UNKNOWN);
declared fields are never in a fact. Computed terms and text prefixes named by the
:class:`~matcher.events.compiler.FactPlan` are added. This is data preparation, like
deriving tags: no condition is decided here.

>>> import datetime as dt
>>> from matcher.events.compiler import FactPlan
>>> plan = FactPlan(fields={"district", "employees"},
...                 texts={"f_district__p4": ("f_district", 4)})
>>> build_fact({"district": "440106", "employees": None}, plan, sid="x",
...            declared=frozenset(), as_of=dt.date(2025, 6, 30))
{'sid': 'x', 'kind': 'profile', 'f_district': '440106', 'f_district__p4': '4401'}
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from matcher.events.compiler import FactPlan, field_key, group_key, unlisted_key
from matcher.events.values import encode, interval_of, value_of
from profiles.catalog import HELD_FIELDS


def build_fact(row: Mapping[str, Any], plan: FactPlan, *, sid: str,
               declared: frozenset[str], as_of: dt.date,
               groups: Iterable[int] | None = None) -> dict[str, Any]:
    """The fact for ``row`` (a derived profile as a mapping of catalog names to values).
    ``groups``: the rule groups it asks (default: all)."""
    fact: dict[str, Any] = {"sid": sid, "kind": "profile"}
    fact.update({group_key(n): 1 for n in (range(plan.groups) if groups is None else groups)})
    raw: dict[str, Any] = {}
    held = set(row.get(HELD_FIELDS) or ())  # fields empty because of a data defect
    for name in sorted(plan.fields):
        value = None if name in declared else row.get(name)
        raw[field_key(name)] = value
        encoded = encode(value) if value is not None else None
        if encoded is not None:
            fact[field_key(name)] = encoded
        elif name in plan.listed and name not in held:
            fact[unlisted_key(name)] = 1  # not on the list (held: UNKNOWN)
    for key, (expr, params) in plan.terms.items():
        value = value_of(expr, row, params=params, declared=declared, as_of=as_of,
                         aggregates=plan.aggregates)
        raw[key] = value
        encoded = encode(value) if value is not None else None
        if encoded is not None:
            fact[key] = encoded
    for key, (expr, params, bound) in plan.bounds.items():
        span = interval_of(expr, row, params=params, declared=declared, as_of=as_of,
                           aggregates=plan.aggregates)
        value = span.lo if bound == "lo" else span.hi
        encoded = encode(value) if value is not None else None
        if encoded is not None:
            fact[key] = encoded
    for key, (base, length) in plan.texts.items():
        value = raw.get(base)
        if value is not None:
            text = str(value)
            fact[key] = text if length is None else text[:length]
    return fact
