"""A named set may mark members 待核 (UNKNOWN) or excluded; every engine answers alike."""

from __future__ import annotations

import datetime as dt

import polars as pl

from profiles.catalog import load_catalog
from rules.compile_polars import compile_policies
from rules.interpret import evaluate_policy
from rules.model import Basis, Condition, Policy
from rules.parser import parse_expr
from rules.sets import NamedSet, NamedSets

SETS = NamedSets({"S": NamedSet(name="S", label="S", kind="industry_prefix", items=("16",),
                                pending=("3011",), excluded=("1690",))})
ENT = load_catalog().entity("enterprise")
AS_OF = dt.date(2025, 9, 30)


def _policy(text: str) -> Policy:
    expr = parse_expr(text)
    from rules.checker import Checker, Scope

    checked = Checker(Scope(entity=ENT, sets=SETS, file="t.yaml")).condition(expr)
    return Policy(id="t", title="t", entity="enterprise", basis=Basis(document="d"),
                  effective_from=dt.date(2020, 1, 1), effective_to=None, delivery="notice",
                  eligibility=Condition(id="c1", expr=checked, label="测试"))


def test_pending_member_is_unknown_excluded_and_unlisted_are_false() -> None:
    codes = ["1620", "3011", "1690", "3110", None]
    for text, want in (("industry_code in S", [True, None, False, False, None]),
                       ("industry_code not in S", [False, None, True, True, None])):
        policy = _policy(text)
        cp = compile_policies([policy], catalog=ENT, sets=SETS, as_of=AS_OF)["t"]
        got = pl.DataFrame({"industry_code": codes}).select(cp.truth.alias("t"))["t"].to_list()
        ref = [evaluate_policy(policy, {"industry_code": c}, catalog=ENT, sets=SETS,
                               as_of=AS_OF, library={}).truth for c in codes]
        assert got == ref == want, text


def test_events_engine_answers_the_same() -> None:
    from matcher.events.compiler import compile_ruleset
    from matcher.events.formula import to_json

    rs = compile_ruleset([_policy("industry_code in S")], catalog=ENT, sets=SETS, as_of=AS_OF)
    q = rs.question("elig|t")
    assert "3011" not in str(to_json(q.true))  # a 待核 code never makes it TRUE
    assert "1690" in str(to_json(q.false))  # an excluded code makes it FALSE
