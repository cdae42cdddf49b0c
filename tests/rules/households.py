"""Decide a person policy over the household register by the polars plan, asserting the
reference interpreter agrees person by person (the spouse and household members read
through the register, as the nightly run reads them)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from profiles.catalog import load_catalog
from profiles.derive import derive
from profiles.relations import members_by_owner, related_frames
from rules.compile_polars import compile_policies
from rules.compile_related import attach_related
from rules.interpret import evaluate_policy


def decide_over_households(library: Any, policy_id: str, frame: pl.DataFrame,
                           register: list[tuple[str, str, str]], *, as_of: dt.date
                           ) -> dict[str, tuple[bool | None, float | None]]:
    """(truth, amount) per person of ``frame`` (base person fields), with ``register`` rows
    (household_id, id_number, relation)."""
    policy = library[policy_id]
    cat = load_catalog().entity("person")
    persons = derive(frame, entity="person", as_of=as_of).collect()
    hh = pl.DataFrame(register, schema=["household_id", "id_number", "relation"],
                      orient="row")
    related = related_frames(persons=persons, households=hh)
    compiled = compile_policies(library.for_entity("person"), catalog=cat, sets=library.sets,
                                as_of=as_of)[policy_id]
    assert compiled.amount is not None
    got = attach_related(persons.lazy(), key="id_number", columns=compiled.related,
                         related=related).select(
        pl.col("id_number"), compiled.truth.alias("t"), compiled.amount.alias("a")).collect()
    members = {name: members_by_owner(rf) for name, rf in related.items()}
    out = {}
    for row, (pid, truth, amount) in zip(persons.iter_rows(named=True), got.iter_rows(),
                                         strict=True):
        full = {**row, **{n: m.get(pid) for n, m in members.items()}}
        ref = evaluate_policy(policy, full, catalog=cat, sets=library.sets, as_of=as_of,
                              library=library)
        assert (ref.truth, ref.amount) == (truth, amount), pid
        out[pid] = (truth, amount)
    return out
