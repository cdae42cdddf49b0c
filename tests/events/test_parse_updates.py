"""Profile updates checked together (the worker checks a window of lines in one pass) give
each update what it gets checked alone: the same typed values, the same refusal."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from matcher.events.engine import EventEngine
from matcher.events.errors import BadEventError
from matcher.events.replay import parse_update, parse_updates
from profiles.synth.enterprises import unique_usccs
from rules.loader import bundled_library

AS_OF = dt.date(2025, 10, 1)
IDS = unique_usccs(np.random.default_rng(3), np.full(5, 440106), np.ones(5, dtype=int)
                   ).to_list()
OK_A = IDS[0]

UPDATES = [
    (1, OK_A, {"graduate_hires": "3", "status": "存续"}),
    (2, "BAD-ID", {"graduate_hires": 1}),                   # key refused
    (3, IDS[1], {"employees": "many"}),                     # text in a number
    (4, IDS[2], {"no_such_field": 1}),                      # unknown field
    (5, IDS[3], {"founded_on": "2019-02-30"}),              # impossible date
    (6, IDS[4], {"founded_on": "2019-02-28", "employees": 12.0}),
]


def _alone(engine: EventEngine, line: int, entity: str, values: dict[str, object]
           ) -> dict[str, object] | str:
    try:
        return parse_update(engine, entity, values, line=line)
    except BadEventError as err:
        return str(err)


def test_checked_together_as_each_alone() -> None:
    with EventEngine(bundled_library(), entity="enterprise", as_of=AS_OF) as engine:
        together = parse_updates(engine, UPDATES)
        alone = [_alone(engine, *u) for u in UPDATES]
    assert [p if isinstance(p, dict) else str(p) for p in together] == alone
    assert isinstance(together[0], dict) and together[0]["graduate_hires"] == 3
    assert sum(isinstance(p, BadEventError) for p in together) >= 3


def test_an_entity_twice_is_refused_before_checking() -> None:
    with EventEngine(bundled_library(), entity="enterprise", as_of=AS_OF) as engine, \
            pytest.raises(ValueError, match="distinct entities"):
        parse_updates(engine, [(1, OK_A, {"employees": 1}), (2, OK_A, {"employees": 2})])
