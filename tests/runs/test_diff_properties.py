"""Properties of the run diff (pure polars, no database)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.outcomes import OUTCOME_SCHEMA
from matcher.run_diff import compute_changes, diff_rows, empty_current
from store.entitlement_bulk import CURRENT_SCHEMA
from store.entitlements import REVOCABLE, SETTLED

AS_OF = dt.date(2025, 11, 3)
KINDS = {"p1": "cash", "p2": "cash"}
STATUSES = ("new", "notified", "confirmed", "paid", "declined", "objected", "revoked")
keys = st.tuples(st.sampled_from(["E1", "E2", "E3", "E4"]), st.sampled_from(["p1", "p2"]))
values = st.tuples(
    st.sampled_from(["eligible", "undetermined"]), st.sampled_from([None, 10000, 25050])
)
stored_values = st.tuples(
    st.sampled_from(["eligible", "undetermined"]),
    st.sampled_from([None, 10000, 25050]),
    st.sampled_from(STATUSES),
)


def _outcomes(rows: dict[tuple[str, str], tuple[str, float | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            (e, p, "v1", outcome, amount, "once", "direct", [])
            for (e, p), (outcome, amount) in sorted(rows.items())
        ],
        schema=OUTCOME_SCHEMA,
        orient="row",
    )


def _current(rows: dict[tuple[str, str], tuple[str, float | None, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            (i, e, p, "once", "v1", outcome, amount, "once", "cash", "direct", [], status)
            for i, ((e, p), (outcome, amount, status)) in enumerate(sorted(rows.items()))
        ],
        schema=CURRENT_SCHEMA,
        orient="row",
    )


@settings(max_examples=60, deadline=None)
@given(
    new_rows=st.dictionaries(keys, values, max_size=8),
    old_rows=st.dictionaries(keys, stored_values, max_size=8),
)
def test_changes_partition_the_keys(
    new_rows: dict[tuple[str, str], tuple[str, float | None]],
    old_rows: dict[tuple[str, str], tuple[str, float | None, str]],
) -> None:
    ch = compute_changes(_outcomes(new_rows), _current(old_rows), as_of=AS_OF, reason="r",
                         kinds=KINDS)
    got_new = {(e, p) for e, p in ch.new.select("entity_id", "policy_id").rows()}
    got_revoked = {(e, p) for e, p in ch.revoked.select("entity_id", "policy_id").rows()}
    got_updated = {(e, p) for e, p in ch.updated.select("entity_id", "policy_id").rows()}
    assert got_new == set(new_rows) - set(old_rows)
    assert got_revoked == {k for k, v in old_rows.items() if v[2] in REVOCABLE} - set(new_rows)
    expected_updates = {
        k
        for k in set(new_rows) & set(old_rows)
        if old_rows[k][2] not in SETTLED
        and (old_rows[k][2] == "revoked" or new_rows[k] != old_rows[k][:2])
    }
    assert got_updated == expected_updates


@settings(max_examples=40, deadline=None)
@given(rows=st.dictionaries(keys, values, max_size=8))
def test_outcomes_already_stored_give_no_changes(
    rows: dict[tuple[str, str], tuple[str, float | None]],
) -> None:
    stored = {k: (*v, "new") for k, v in rows.items()}
    ch = compute_changes(_outcomes(rows), _current(stored), as_of=AS_OF, reason="r", kinds=KINDS)
    assert ch.total == 0


def test_nothing_stored_and_nothing_found_is_no_change() -> None:
    ch = compute_changes(_outcomes({}), empty_current(), as_of=AS_OF, reason="r", kinds=KINDS)
    assert ch.total == 0


def test_a_policy_without_its_amount_kind_is_refused_by_name() -> None:
    outcomes = _outcomes({("E1", "p3"): ("eligible", 10000)})
    with pytest.raises(ValueError, match="p3"):
        compute_changes(outcomes, empty_current(), as_of=AS_OF, reason="r", kinds=KINDS)


# diff_rows: the same diff over plain rows (an event batch's path), equal to compute_changes
periods = st.sampled_from([None, "once", "year", "month"])
fields = st.sampled_from([[], ["employees"], ["employees", "district"], None])
outcome_rows = st.lists(st.tuples(
    st.sampled_from(["E1", "E2", "E3"]), st.sampled_from(["p1", "p2"]),
    st.sampled_from(["v1", "v2"]),
    st.sampled_from(["eligible", "undetermined"]), st.sampled_from([None, 10000, 25050]), periods,
    st.sampled_from(["direct", "apply"]), fields.filter(lambda f: f is not None)), max_size=10)
stored_rows = st.lists(st.tuples(
    st.sampled_from(["E1", "E2", "E3", "E4"]), st.sampled_from(["p1", "p2"]),
    st.sampled_from(["once", "2025", "2025-11"]), st.sampled_from(["v1", "v2"]),
    st.sampled_from(["eligible", "undetermined"]), st.sampled_from([None, 10000, 25050]), periods,
    st.sampled_from(["cash", "deduction"]), st.sampled_from(["direct", "apply"]), fields,
    st.sampled_from(STATUSES)), max_size=10,
    unique_by=lambda r: (r[0], r[1], r[2]))


@settings(max_examples=300, deadline=None)
@given(new=outcome_rows, old=stored_rows, held=st.sets(st.sampled_from(["E1", "E2", "E4"])))
def test_the_diff_over_rows_equals_the_vectorised_diff(
    new: list[tuple[object, ...]], old: list[tuple[object, ...]], held: set[str],
) -> None:
    outcomes = pl.DataFrame(new, schema=OUTCOME_SCHEMA, orient="row")
    current = pl.DataFrame([(i, *r) for i, r in enumerate(old, start=1)], schema=CURRENT_SCHEMA,
                           orient="row")
    kinds = {"p1": "cash", "p2": "deduction"}
    want = compute_changes(outcomes, current, as_of=AS_OF, reason="r", kinds=kinds,
                           held=pl.Series(sorted(held), dtype=pl.String) if held else None)
    got = diff_rows(outcomes.to_dicts(), current.to_dicts(), as_of=AS_OF, reason="r",
                    kinds=kinds, held=held)
    for name in ("new", "updated", "revoked"):
        assert getattr(got, name).schema == getattr(want, name).schema, name
        assert getattr(got, name).to_dicts() == getattr(want, name).to_dicts(), name
    assert got.held == want.held


def test_the_diff_over_rows_refuses_a_policy_without_its_amount_kind() -> None:
    rows = _outcomes({("E1", "p3"): ("eligible", 10000)}).to_dicts()
    with pytest.raises(ValueError, match="p3"):
        diff_rows(rows, [], as_of=AS_OF, reason="r", kinds=KINDS)
