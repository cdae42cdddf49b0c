"""The generators are seeded, follow the catalog, and leave 3-5% of ordinary values missing."""

from __future__ import annotations

import polars as pl

from bench.generate import (
    DTYPES,
    LISTED_SHARE,
    bench_sets,
    catalog,
    generate_policies,
    generate_profiles,
)
from profiles.possible import MASK_DTYPE, possible_column
from rules import ast as A


def test_same_seed_gives_same_profiles_and_policies() -> None:
    assert generate_profiles(500, seed=7).equals(generate_profiles(500, seed=7))
    assert generate_policies(20, seed=7) == generate_policies(20, seed=7)
    assert generate_policies(20, seed=7) != generate_policies(20, seed=8)


def test_profile_columns_have_catalog_dtypes() -> None:
    frame = generate_profiles(200, seed=1)
    masks = {possible_column(f.name) for f in catalog().fields if f.possible}
    assert masks <= set(frame.columns)
    for name, dtype in frame.schema.items():
        want = MASK_DTYPE if name in masks else DTYPES[catalog().field(name).type]
        assert dtype == want, name


def test_ordinary_base_columns_miss_three_to_five_percent() -> None:
    frame = generate_profiles(50_000, seed=2)
    for f in catalog().base_fields:
        if f.name not in frame.columns or f.name == "uscc" or f.not_listed_when_empty:
            continue
        share = frame[f.name].null_count() / frame.height
        assert 0.025 <= share <= 0.055, (f.name, share)


def test_list_type_fields_are_mostly_empty() -> None:
    frame = generate_profiles(50_000, seed=3)
    for name, listed in LISTED_SHARE.items():
        share = 1 - frame[name].null_count() / frame.height
        assert abs(share - listed) < 0.01, (name, share)


def test_policies_have_three_to_eight_conditions_on_catalog_fields() -> None:
    frame_columns = set(generate_profiles(1, seed=0).columns)
    for policy in generate_policies(200, seed=4):
        assert 3 <= len(policy.conditions) <= 8, policy.id
        assert policy.fields_read <= frame_columns, policy.id
        for leaf in policy.conditions:
            for node in leaf.expr.walk():
                if isinstance(node, A.SetRef):
                    assert node.name in bench_sets()


def test_policies_cover_the_node_kinds_the_bench_promises() -> None:
    kinds: set[str] = set()
    for policy in generate_policies(100, seed=5):
        for leaf in policy.conditions:
            kinds |= {type(n).__name__ for n in leaf.expr.walk()}
    assert {"Compare", "In", "SetRef", "RegionRef", "ListLit", "Date", "Call", "Arith",
            "IsEmpty", "Not", "And", "Or"} <= kinds


def test_derived_ratio_is_unknown_when_its_denominator_is_zero() -> None:
    frame = generate_profiles(20_000, seed=6)
    zero = frame.filter(pl.col("insured_employees") == 0)
    assert zero.height > 0
    assert zero["layoff_rate"].null_count() == zero.height


def test_every_construct_policies_are_seeded_and_carry_what_they_read() -> None:
    """generate_all: the same seed gives the same policies; every parameter a condition or
    an amount names is the policy's, and every declared field it reads is declared."""
    from bench.generate import generate_all
    from rules.model import amount_exprs

    policies = generate_all(60, seed=9)
    assert policies == generate_all(60, seed=9)
    declared_seen = 0
    for policy in policies:
        exprs = [c.expr for c in policy.conditions] + list(amount_exprs(policy.amount))
        names = {n.name for e in exprs for n in e.walk() if isinstance(n, A.ParamRef)}
        assert names <= set(policy.parameters), policy.id
        declared = {d.name for d in policy.declared}
        read = {n for e in exprs for n in A.fields_read(e)}
        assert declared <= read and all(n in catalog() for n in read - declared), policy.id
        declared_seen += len(declared)
    assert declared_seen > 0
