"""One test per durable_rules 2.0.28 trap that the event engine relies on working around:
first that the trap is real (so the workaround is needed), then that the workaround holds.
The table is in matcher/events/README.md."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import textwrap

import pytest
from durable import engine as durable_engine
from durable import lang

from matcher.events.compiler import GUARD, PART_MARK, compile_ruleset
from matcher.events.engine import EventEngine
from matcher.events.errors import EngineFailure
from matcher.events.formula import (
    MAX_GATES,
    NEVER,
    Formula,
    conj,
    disj,
    gates,
    to_json,
)
from matcher.events.formula import (
    Test as FormulaTest,
)
from matcher.events.ruleset import DurableRuleset, dumps, unique_name
from matcher.events.triggers import TriggerMatcher
from profiles.catalog import load_catalog
from rules.loader import bundled_library
from rules.parser import parse_expr

AS_OF = dt.date(2025, 10, 1)
ENT = load_catalog().entity("enterprise")


def raw_ruleset(rules: dict[str, dict[str, object]]) -> tuple[durable_engine.Ruleset, list[str]]:
    fired: list[str] = []
    definition = {}
    for name, cond in rules.items():
        definition[name] = {**cond, "run": (lambda n: lambda c: fired.append(n))(name)}
    return durable_engine.Ruleset(unique_name("trap"), None, definition), fired


def run_raw(rs: durable_engine.Ruleset, fact: dict[str, object], *, event: bool = False) -> None:
    handle = rs.assert_event(fact) if event else rs.assert_fact(fact)
    rs.do_actions(handle, lambda e, s: None)


def one_rule(cond: dict[str, object]) -> dict[str, object]:
    return {"all": [{"m": cond}]}


# ---- the rule-building DSL ----------------------------------------------------------------

def test_durable_lang_has_no_not_operator():
    with pytest.raises(TypeError):
        _ = ~(lang.m.x > 1)


def test_python_in_builds_a_constant_true_not_a_rule():
    assert (lang.m.x in [1, 2]) is True


def test_python_and_keeps_only_the_right_comparison():
    assert ((lang.m.x > 1) and (lang.m.y < 2)).define() == {"$lt": {"y": 2}}


def test_chained_comparison_keeps_only_the_last_one():
    assert (1 < lang.m.x < 5).define() == {"$lt": {"x": 5}}


def test_left_hand_arithmetic_and_field_plus_field_fail():
    with pytest.raises(Exception, match="binary"):
        _ = lang.m.x + 1 > 3
    with pytest.raises(TypeError):
        json.dumps((lang.m.x > lang.m.y + lang.m.z).define())


def test_compiler_writes_json_rules_with_computed_terms_not_dsl_arithmetic():
    lib = bundled_library()
    rs = compile_ruleset([lib["high-tech-enterprise"]], catalog=ENT, sets=lib.sets,
                         as_of=AS_OF)
    rules = json.dumps(rs.rules(), ensure_ascii=False)
    assert "$add" not in rules and "$div" not in rules  # arithmetic is a precomputed term
    terms = [expr for expr, _ in rs.plan.terms.values()]
    assert parse_expr("tech_staff / employees") in terms


def test_membership_compiles_to_equality_tests_not_python_in():
    lib = bundled_library()
    person = load_catalog().entity("person")
    rs = compile_ruleset([lib["sh-severe-disability-care-subsidy"]], catalog=person,
                         sets=lib.sets, as_of=AS_OF)
    question = rs.question("elig|sh-severe-disability-care-subsidy")
    assert question.true == NEVER  # needs_long_term_care is declared: never TRUE from data
    text = json.dumps(to_json(question.false), ensure_ascii=False)
    assert '{"$neq": {"f_disability_category": "智力"}}' in text
    assert '{"$neq": {"f_disability_category": "精神"}}' in text


# ---- matching semantics -------------------------------------------------------------------

def test_strings_that_look_like_numbers_compare_as_text():
    rs, _ = raw_ruleset({"r": one_rule({"$lt": {"x": "10"}})})
    with pytest.raises(durable_engine.MessageNotHandledException):
        run_raw(rs, {"sid": "a", "x": "9"})  # '9' > '10' as text


def test_catalog_types_make_numbers_compare_as_numbers():
    lib = bundled_library()
    with EventEngine([lib["cit-small-low-profit"]], entity="enterprise", as_of=AS_OF,
                     sets=lib.sets) as eng:
        row = {"status": "存续", "restricted_industry": False, "annual_taxable_income": 9.0,
               "employees": 9, "total_assets": 10.0}
        (out,) = eng.upsert("e1", row)
        assert out["outcome"] == "eligible"  # 9 <= 300 numerically (as text '9' > '300')


def test_a_missing_field_fails_every_comparison_even_not_equal():
    rs, fired = raw_ruleset({"ne": one_rule({"$neq": {"x": 5}}),
                             "seen": one_rule({"kind": "p"})})
    run_raw(rs, {"sid": "a", "kind": "p"})
    assert fired == ["seen"]


def test_a_comparison_with_an_absent_key_passes_both_ways():
    rs, fired = raw_ruleset({"gt": one_rule({"$gt": {"x": {"$m": "y"}}}),
                             "le": one_rule({"$lte": {"x": {"$m": "y"}}}),
                             "seen": one_rule({"kind": "p"})})
    run_raw(rs, {"sid": "a", "kind": "p", "x": 5})
    assert sorted(fired) == ["gt", "le", "seen"]  # the trap: y absent, x > y and x <= y


def test_a_field_compared_with_an_unknown_term_is_unknown_not_a_failure():
    # software_vat_monthly > software_sales_monthly * burden, the sales not known: the
    # term is absent from the fact, so the comparison is UNKNOWN (it raised EngineFailure,
    # both rules having fired)
    lib = bundled_library()
    row = {"status": "存续", "vat_taxpayer_type": "一般纳税人", "software_vat_monthly": 100.0}
    with EventEngine([lib["vat-software-refund"]], entity="enterprise", as_of=AS_OF,
                     sets=lib.sets) as eng:
        (out,) = eng.upsert("e1", row)
        assert out["outcome"] == "undetermined"
        assert out["unknown_fields"] == ["software_sales_monthly"]
        (out,) = eng.upsert("e1", {**row, "software_sales_monthly": 1000.0})
        assert (out["outcome"], out["amount_fen"]) == ("eligible", 70_00)  # 100 - 1000 × 3%


def test_a_missing_field_is_unknown_because_neither_rule_fires():
    lib = bundled_library()
    with EventEngine([lib["vat-small-scale-exemption"]], entity="enterprise", as_of=AS_OF,
                     sets=lib.sets) as eng:
        (out,) = eng.upsert("e1", {"vat_taxpayer_type": "小规模纳税人"})
        assert out["outcome"] == "undetermined"
        assert out["unknown_fields"] == ["monthly_sales"]


@pytest.mark.slow
def test_a_lone_field_absent_rule_fires_forever():
    script = textwrap.dedent("""
        from durable import engine
        rs = engine.Ruleset("lone", None, {"r": {"all": [{"m": {"$nex": {"x": 1}}}],
                                                 "run": lambda c: None}})
        rs.do_actions(rs.assert_fact({"sid": "a", "y": 1}), lambda e, s: None)
    """)
    with pytest.raises(subprocess.TimeoutExpired):
        subprocess.run([sys.executable, "-c", script], timeout=3, capture_output=True)


def test_every_compiled_rule_is_guarded_so_none_is_a_lone_absent_test():
    lib = bundled_library()
    every = {p.id: p for p in lib}
    rs = compile_ruleset(list(lib.for_entity("person")),
                         catalog=load_catalog().entity("person"), sets=lib.sets, as_of=AS_OF,
                         library=every)
    for name, body in rs.rules().items():
        cond = body["all"][0]["m"]
        assert cond == GUARD or cond["$and"][0] == GUARD, name


def test_post_fires_one_rule_and_assert_fact_fires_all():
    rules = {"a": one_rule({"$gt": {"x": 1}}), "b": one_rule({"$gt": {"x": 0}})}
    rs, fired = raw_ruleset(rules)
    run_raw(rs, {"sid": "a", "x": 2}, event=True)
    assert len(fired) == 1
    rs2, fired2 = raw_ruleset(rules)
    run_raw(rs2, {"sid": "a", "x": 2})
    assert sorted(fired2) == ["a", "b"]


def test_assert_fact_refuses_the_same_fact_twice():
    rs, _ = raw_ruleset({"a": one_rule({"$gt": {"x": 1}})})
    run_raw(rs, {"sid": "a", "x": 2})
    with pytest.raises(durable_engine.MessageObservedException):
        run_raw(rs, {"sid": "a", "x": 2})


def test_an_unchanged_update_is_retracted_then_asserted_again():
    lib = bundled_library()
    with EventEngine([lib["graduate-hiring-subsidy"]], entity="enterprise", as_of=AS_OF,
                     sets=lib.sets) as eng:
        first = eng.upsert("e1", {"status": "存续", "graduate_hires": 2})
        again = eng.upsert("e1", {"status": "存续", "graduate_hires": 2})
        assert first == again and first[0]["amount_fen"] == 300000


def test_an_or_fires_its_rule_once_per_true_branch():
    rs, fired = raw_ruleset({"r": one_rule({"$or": [{"$gt": {"x": 1}}, {"$gt": {"x": 0}}]})})
    run_raw(rs, {"sid": "a", "x": 2})
    assert fired == ["r", "r"]


def test_exceptions_in_actions_are_swallowed():
    definition = {"r": {"all": [{"m": {"$gt": {"x": 1}}}], "run": lambda c: 1 / 0}}
    rs = durable_engine.Ruleset(unique_name("trap"), None, definition)
    errors: list[object] = []
    rs.do_actions(rs.assert_fact({"sid": "a", "x": 2}), lambda e, s: errors.append(e))
    assert errors == [None]


def test_a_failing_action_is_raised_not_swallowed(monkeypatch):
    with DurableRuleset({"r": one_rule({"$gt": {"x": 1}})}, name="trap") as rs:
        def explode(rule_name: str, c: object) -> None:
            raise RuntimeError("boom")

        monkeypatch.setattr(rs, "_record", explode)
        with pytest.raises(EngineFailure, match="boom"):
            rs.assert_fact({"sid": "a", "x": 2})


def test_numbers_in_exponent_notation_are_refused():
    with pytest.raises(Exception, match="204"):
        durable_engine.Ruleset(unique_name("trap"), None,
                               {"r": {"all": [{"m": {"$lt": {"x": 1e-05}}}],
                                      "run": lambda c: None}})
    assert dumps({"x": 1e-05}) == '{"x": 0.00001}'
    with DurableRuleset({"r": one_rule({"$lte": {"x": 1e-05}})}, name="trap") as rs:
        assert [n for n, _ in rs.assert_fact({"sid": "a", "x": 1e-05})] == ["r"]
        assert rs.assert_fact({"sid": "a", "x": 1.0000000000000001e-05 * 1.5}) == []


def test_a_fact_matching_no_rule_raises_not_handled():
    rs, _ = raw_ruleset({"r": one_rule({"$gt": {"x": 1}})})
    with pytest.raises(durable_engine.MessageNotHandledException):
        run_raw(rs, {"sid": "a", "x": 0})
    with DurableRuleset({"r": one_rule({"$gt": {"x": 1}})}, name="trap") as ours:
        assert ours.assert_fact({"sid": "a", "x": 0}) == []


def test_fired_names_reads_the_same_rules_as_the_actions_and_retracts_the_fact():
    rules = {"gt1": one_rule({"$gt": {"x": 1}}), "either": one_rule(
        {"$or": [{"$gt": {"x": 1}}, {"$gt": {"x": 0}}]}), "small": one_rule({"$lt": {"x": 0}})}
    with DurableRuleset(rules, name="trap") as rs:
        for x in (2, 0.5, -1, 1e-05):
            fact = {"sid": "a", "x": x}
            want = sorted(n for n, _ in rs.assert_fact(fact))
            rs.retract_fact(fact)
            assert sorted(rs.fired_names(fact)) == want
            assert sorted(rs.fired_names(fact)) == want  # retracted: not "observed" twice
        assert sorted(rs.fired_names({"sid": "a", "x": 2})) == ["either", "either", "gt1"]
        assert rs.fired_names({"sid": "a", "y": 1}) == []  # matches no rule


def test_fired_names_agree_with_the_actions_on_the_bundled_library():
    from bench.generate import generate_profiles
    from matcher.events.facts import build_fact

    frame = generate_profiles(40, seed=7, as_of=AS_OF)
    lib = bundled_library()
    with EventEngine(lib, entity="enterprise", as_of=AS_OF) as eng:
        eng.load(frame.select([f.name for f in eng.base_fields if f.name in frame.columns]))
        ids = list(eng._index)
        for entity_id in ids:
            eng.outcomes_of(entity_id)  # evaluated and kept (its derived row included)
            fact = build_fact(eng._rows[entity_id], eng.compiled.plan, sid="t",
                              declared=eng.declared, as_of=AS_OF)
            want = sorted(n for n, _ in eng.ruleset.assert_fact(fact))
            eng.ruleset.retract_fact(fact)
            assert want and sorted(eng.ruleset.fired_names(fact)) == want


def test_leaf_rules_sit_in_groups_of_their_own_asked_only_when_a_fact_carries_them():
    from bench.generate import generate_profiles
    from matcher.events.compiler import GROUP_SIZE, group_key
    from matcher.events.facts import build_fact

    lib = bundled_library()
    with EventEngine(lib, entity="enterprise", as_of=AS_OF) as eng:
        compiled = eng.compiled
        members: dict[int, list[str]] = {}
        for name, rule in compiled.rules().items():
            if name == "seen":
                continue
            guard = rule["all"][0]["m"]["$and"][1]
            (group,) = (int(k[1:]) for k in guard)
            members.setdefault(group, []).append(name)
        assert all(len(names) <= GROUP_SIZE for names in members.values())
        for group, names in members.items():
            leaf = group not in compiled.main_groups
            assert all(n.startswith("leaf|") == leaf for n in names), group
        for pid, groups in compiled.leaf_groups.items():
            leaves = [n for n in compiled.rules() if n.startswith(f"leaf|{pid}|")]
            assert len(groups) == -(-len(leaves) // GROUP_SIZE), pid  # as few as they fill
        frame = generate_profiles(10, seed=3, as_of=AS_OF)
        eng.load(frame.select([f.name for f in eng.base_fields if f.name in frame.columns]))
        eng.outcomes()
        for row in eng._rows.values():
            fact = build_fact(row, compiled.plan, sid="t", declared=eng.declared,
                              as_of=AS_OF, groups=compiled.main_groups)
            assert group_key(max(compiled.leaf_groups["vat-small-scale-exemption"])) \
                not in fact
            assert not [n for n in eng.ruleset.fired_names(fact) if n.startswith("leaf|")]


def test_a_false_test_on_another_events_field_inside_and_crashes_the_process():
    # events.c reduceExpressionSequence: when a test inside $and is FALSE it skips to the
    # end marker starting one past the test it already stepped over, so it reads beyond the
    # rule's expressions until a byte happens to equal the marker: a segmentation fault
    # whenever the memory after the rule holds none. One reference is enough.
    script = textwrap.dedent("""
        import random
        from matcher.events.ruleset import DurableRuleset
        random.seed(0)
        rules = {"t": {"all": [{"a": {"$and": [{"policy": "x"}, {"step": "first"}]}},
                               {"b": {"$and": [{"policy": "x"}, {"step": "then"},
                                               {"$lte": {"day": {"a": "until"}}}]}}]}}
        n = 0
        for trial in range(300):
            with DurableRuleset(rules, name="seg") as rs:
                for k in range(12):
                    n += 1
                    ev = {"id": n, "sid": f"{random.choice('AB')}#{random.randint(0, 3)}",
                          "policy": "x", "step": random.choice(["first", "then"]),
                          "day": random.randint(0, 400)}
                    ev["until"] = ev["day"] + 120
                    rs.post(ev)
    """)
    done = subprocess.run([sys.executable, "-c", script], timeout=120, capture_output=True)
    assert done.returncode != 0  # SIGSEGV


def test_trigger_rules_test_only_the_events_own_fields():
    tm = TriggerMatcher(bundled_library().for_entity("enterprise"))
    text = json.dumps(tm._rules)
    assert '"a": "' not in text and "$lte" not in text  # no reference to another event


def test_one_reference_per_pattern_with_python_routing_does_not_crash():
    script = textwrap.dedent("""
        import datetime as dt, random
        from matcher.events.triggers import TriggerMatcher
        from rules.loader import bundled_library
        random.seed(2)
        policy = bundled_library()["graduate-hiring-insured-trigger"]
        for trial in range(100):
            with TriggerMatcher([policy]) as tm:
                day = dt.date(2025, 1, 1)
                for k in range(12):
                    day += dt.timedelta(days=random.randint(0, 60))
                    tm.post(random.choice("AB"),
                            random.choice(["graduate_hired", "insured_3_months"]), day,
                            {"person": random.choice(["p1", "p2"])})
        print("done")
    """)
    done = subprocess.run([sys.executable, "-c", script], timeout=60, capture_output=True,
                          text=True)
    assert done.returncode == 0 and "done" in done.stdout, done.stderr[-2000:]


def test_rulesets_are_isolated_by_unique_names():
    lib = bundled_library()
    with EventEngine(lib, entity="person", as_of=AS_OF) as a, \
            EventEngine(lib, entity="person", as_of=AS_OF) as b:
        assert a.ruleset.name != b.ruleset.name
        a.upsert("p1", {"birth_date": dt.date(1930, 1, 1), "hukou_district": "110105",
                        "alive": True})
        assert b.outcomes_of("p1") == []


# ---- pattern size -------------------------------------------------------------------------

def _nested_ors(n: int) -> dict[str, object]:
    """A guarded pattern of ``n`` ORs under an AND: n + 2 $and / $or nodes."""
    return {"$and": [dict(GUARD), {"$and": [{"$or": [{f"a{i}": 1}, {f"b{i}": 1}]}
                                            for i in range(n)]}]}


def test_a_pattern_of_more_than_15_and_or_nodes_is_refused():
    raw_ruleset({"fits": one_rule(_nested_ors(MAX_GATES - 2))})
    with pytest.raises(Exception, match="error code: 113"):
        raw_ruleset({"too_large": one_rule(_nested_ors(MAX_GATES - 1))})


def test_a_side_too_large_for_one_pattern_is_split_into_rules_of_its_own():
    """Generated policies whose FALSE side of eligibility has 18 $and / $or nodes (found by
    tests/events/test_generated.py, which checks their answers against the interpreter
    with this seed as an explicit example)."""
    from bench.generate import bench_sets, generate_all

    policies = generate_all(8, seed=SPLIT_SEED)
    # durable_rules accepts every rule (before: error code 113 here)
    with EventEngine(policies, entity="enterprise", as_of=AS_OF, sets=bench_sets()) as engine:
        rules = engine.compiled.rules()
    parts = [n for n in rules if PART_MARK in n]
    assert parts
    for name in parts:
        assert name.partition(PART_MARK)[0] in rules  # the first part keeps the side's name
    for rule in rules.values():
        assert gates(from_json(rule["all"][0]["m"])) <= MAX_GATES


#: generate_all's seed whose policies first hit durable's pattern limit
SPLIT_SEED = 146189926


def from_json(node: dict[str, object]) -> Formula:
    """A pattern's JSON as a formula (its gates, for counting)."""
    if "$and" in node:
        return conj([from_json(c) for c in node["$and"]])  # type: ignore[attr-defined]
    if "$or" in node:
        return disj([from_json(c) for c in node["$or"]])  # type: ignore[attr-defined]
    return FormulaTest(node)
