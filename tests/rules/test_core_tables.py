"""Every target compiles the core (rules.ast.CORE) through one dispatch table: each core node
type has a rule in each table, so a core operator added without its rule somewhere fails
here, by name, instead of surfacing as an UnsupportedNode in some later run."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, get_args

import pytest

from bench.peers import duckdb_sql, durable, numpy_eval
from matcher.events import compiler as events
from matcher.events import values as event_values
from profiles.catalog import load_catalog
from rules import ast, compile_polars, interpret, model
from rules.errors import UnsupportedNode
from rules.model import AllOf, Basis, Condition, Policy

TABLES: dict[str, dict[type, Any]] = {
    "interpreter (the specification)": interpret.RULES,
    "polars (batch)": compile_polars.RULES,
    "durable_rules (event engine)": events.RULES,
    "DuckDB SQL (bench peer)": duckdb_sql.RULES,
    "numpy (bench peer)": numpy_eval.RULES,
    "durable_rules (bench peer)": durable.RULES,
}


def test_the_core_is_every_expression_node_of_the_ast() -> None:
    nodes = {c for c in vars(ast).values()
             if isinstance(c, type) and issubclass(c, ast.Node) and c is not ast.Node}
    assert set(ast.CORE) | set(ast.BOUND_AT_AS_OF) == nodes
    assert not set(ast.CORE) & set(ast.BOUND_AT_AS_OF)


@pytest.mark.parametrize("target", sorted(TABLES))
def test_every_core_node_has_a_rule_in_every_target(target: str) -> None:
    table = TABLES[target]
    missing = sorted(c.__name__ for c in ast.CORE if c not in table)
    assert not missing, f"{target} has no rule for {missing}"
    extra = sorted(getattr(c, "__name__", str(c)) for c in table if c not in ast.CORE)
    assert not extra, f"{target} has rules for node types outside the core: {extra}"


def test_every_event_term_is_computed_when_the_fact_is_built() -> None:
    # a value node the event compiler leaves to the fact (a term) needs a value rule there
    terms = [t for t, rule in events.RULES.items() if rule is events._term]
    missing = sorted(t.__name__ for t in terms if t not in event_values.RULES)
    assert terms and not missing, missing


@dataclass(frozen=True, kw_only=True)
class _Novel(ast.Node):
    """A node no target knows."""


def test_a_node_without_a_rule_is_refused_by_name() -> None:
    catalog = load_catalog().entity("enterprise")
    policy = Policy(id="p", title="p", entity="enterprise", basis=Basis(document="x"),
                    effective_from=dt.date(2020, 1, 1), effective_to=None, delivery="notice",
                    eligibility=AllOf(children=(Condition(id="c", expr=_Novel(),  # type: ignore[arg-type]
                                                          label="c"),)),
                    parameters={}, amount=None)
    with pytest.raises(UnsupportedNode, match="_Novel"):
        interpret.evaluate_policy(policy, {}, catalog=catalog, sets={},  # type: ignore[arg-type]
                                  as_of=dt.date(2025, 1, 1), library={"p": policy})
    with pytest.raises(UnsupportedNode, match="_Novel"):
        compile_polars.compile_policies([policy], catalog=catalog, sets={},  # type: ignore[arg-type]
                                        as_of=dt.date(2025, 1, 1))


def test_every_condition_tree_node_is_sugar_for_the_core() -> None:
    # all / any / not / a leaf: the core expression each stands for (every target compiles
    # that); the interpreter walks the tree itself only to record each leaf's truth
    kinds = set(get_args(model.ConditionNode))
    assert kinds == set(model._TREE_EXPR) == set(interpret._TREE_RULES)


def test_every_amount_shape_is_sugar_for_the_core() -> None:
    # a formula, a tier table and cases: the core expression each stands for (every target
    # compiles Amount.expr with its dispatch table, no target looks at the written shape)
    assert set(get_args(model.AmountRule)) == set(model._AMOUNT_EXPR)
    tiers = model.TierAmount(by=ast.FieldRef(name="employees"), tiers=(
        model.Tier(from_=0, value=ast.Number(value=1)),
        model.Tier(from_=10, value=ast.Number(value=2))))
    cases = model.CaseAmount(cases=(
        model.Case(when=ast.FieldRef(name="x"), value=ast.Number(value=1)),
        model.Case(when=None, value=ast.Number(value=2))))
    formula = model.FormulaAmount(expr=ast.Number(value=3))
    for rule in (tiers, cases, formula):
        expr = model.amount_expr(rule)
        assert {type(n) for n in expr.walk()} <= set(ast.CORE), rule
    assert model.amount_expr(tiers) == ast.Tiers(
        by=ast.FieldRef(name="employees"), bounds=(0, 10),
        values=(ast.Number(value=1), ast.Number(value=2)))
    assert model.amount_expr(cases) == ast.Cases(
        whens=(ast.FieldRef(name="x"),), values=(ast.Number(value=1),),
        otherwise=ast.Number(value=2))
    assert ast.selectors(model.amount_expr(tiers)) == (
        ast.Compare(op=">=", left=ast.FieldRef(name="employees"), right=ast.Number(value=0)),
        ast.Compare(op=">=", left=ast.FieldRef(name="employees"), right=ast.Number(value=10)))
