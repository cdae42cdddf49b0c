"""The engines the benchmark runs, each a function over the same frame and policies.

Every engine returns an :class:`EngineRun`: the seconds for all entities (measured, or
measured on a sample and extrapolated linearly) and, where it evaluated every entity, the
per-policy count of TRUE and UNKNOWN results, so that the run can check the engines agree.

- ``mianshen``: our batch matcher as a run uses it, :func:`matcher.evaluate.match_lean`
  (compiled polars plan, lean long output with unknown-field masks and amounts in fen,
  exclusivity and budgets);
- ``mianshen-decoded``: the same, decoded for display (:func:`matcher.evaluate.match_frame`);
- ``mianshen-plan``: only the compiled plan (one wide select of every truth and amount), the
  same output the peers produce;
- ``duckdb``, ``numpy``: the peers in :mod:`bench.peers`;
- ``durable``, ``python-loop``: sampled and extrapolated;
- ``lower-bound``: one scan of every referenced column (no engine can do less).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from bench.generate import bench_sets, catalog
from profiles.catalog import OWNER_COLUMN
from profiles.relations import RelatedFrame
from rules.ledger import AwardLedger, join_ledger
from rules.model import Policy


@dataclass(frozen=True)
class EngineRun:
    seconds: float
    sampled_rows: int | None = None  # None: every entity was evaluated
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)  # policy: (true, unknown)


@dataclass(frozen=True)
class Inputs:
    frame: pl.DataFrame
    policies: Sequence[Policy]
    as_of: dt.date
    sample_rows: int
    #: member frames of the relations the policies aggregate over (``--related``)
    related: Mapping[str, RelatedFrame] | None = None
    #: the award history the policies' received() lookups read (``--all-constructs``)
    ledger: AwardLedger | None = None

    def ledger_frame(self) -> pl.DataFrame:
        """The frame with the ledger lookups' columns (:func:`rules.ledger.join_ledger`), as
        the peers read them: they are given the join, our engine makes it in its plan."""
        if self.ledger is None:
            return self.frame
        refs = {r for p in self.policies for r in p.ledger_lookups}
        return join_ledger(self.frame.lazy(), self.ledger, refs, key="uscc",
                           as_of=self.as_of).collect()


#: Engines that evaluate aggregates over related entities (the DuckDB peer: a group-by per
#: aggregate joined on the owner; numpy: vectorised per owner; the Python loop: the
#: interpreter over each owner's members).
RELATED_ENGINES = ("mianshen", "mianshen-decoded", "mianshen-plan", "duckdb", "numpy",
                   "durable", "python-loop", "lower-bound")


Engine = Callable[[Inputs], EngineRun]


def wide_counts(wide: pl.DataFrame, policies: Sequence[Policy]) -> dict[str, tuple[int, int]]:
    """(TRUE, UNKNOWN) per policy from a wide frame with one Boolean column per policy id."""
    ids = [p.id for p in policies]
    sums = wide.select([pl.col(i).sum().alias(f"t{n}") for n, i in enumerate(ids)]
                       + [pl.col(i).null_count().alias(f"u{n}") for n, i in enumerate(ids)])
    row = sums.row(0)
    return {i: (int(row[n] or 0), int(row[len(ids) + n])) for n, i in enumerate(ids)}


def _timed(fn: Callable[[], pl.DataFrame]) -> tuple[float, pl.DataFrame]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def run_mianshen_plan(inp: Inputs) -> EngineRun:
    """Our compiled plan, wide output: the matcher's frame preparation (declared conditions
    as null columns, the award history and the aggregates over related entities each a
    group-by and a join in the plan, :func:`matcher.evaluate.prepare_frame`), then every
    policy's truth and amount (a case or tier amount in its stages of columns,
    :class:`rules.compile_polars.AmountSteps`, as the matcher evaluates it)."""
    from matcher.evaluate import make_plan, prepare_frame

    def go() -> pl.DataFrame:
        plan = make_plan(inp.policies, entity="enterprise", as_of=inp.as_of,
                         sets=bench_sets(), ledger=inp.ledger)
        exprs: list[pl.Expr] = []
        stages: list[list[pl.Expr]] = []  # case and tier amounts' columns, as a run adds them
        for pid, cp in plan.compiled.items():
            exprs.append(cp.truth.alias(pid))
            steps = cp.amount_steps
            if steps is not None:
                exprs.append(steps.value.cast(pl.Float64).alias(pid + ".amount"))
                for n, stage in enumerate(steps.stages):
                    if n == len(stages):
                        stages.append([])
                    stages[n].extend(stage)
        lf = prepare_frame(inp.frame, plan, related=inp.related)
        for columns in stages:
            lf = lf.with_columns(columns)
        return lf.select(exprs).collect()

    seconds, wide = _timed(go)
    return EngineRun(seconds=seconds, counts=wide_counts(wide, inp.policies))


def run_mianshen(inp: Inputs) -> EngineRun:
    """The full matcher as a run uses it: plan, lean long output (unknown-field masks,
    amounts in fen), exclusivity and budgets (:func:`matcher.evaluate.match_lean`). The
    outcomes are counted on the ``Enum`` columns (no string column of every row)."""
    from matcher.evaluate import make_plan, match_lean
    from matcher.lean import counts

    def go() -> pl.DataFrame:
        plan = make_plan(inp.policies, entity="enterprise", as_of=inp.as_of,
                         sets=bench_sets(), ledger=inp.ledger)
        return match_lean(inp.frame, plan, related=inp.related).frame

    seconds, long = _timed(go)
    by = counts(long)
    del long
    return EngineRun(seconds=seconds, counts={
        p.id: (sum(n for k, n in by.get(p.id, {}).items() if k != "undetermined"),
               by.get(p.id, {}).get("undetermined", 0)) for p in inp.policies})


def run_mianshen_decoded(inp: Inputs) -> EngineRun:
    """The matcher with its output decoded for display (:func:`matcher.evaluate.match_frame`:
    entity ids, policy ids and outcomes as strings, unknown fields as lists)."""
    from matcher.evaluate import match_frame

    seconds, long = _timed(lambda: match_frame(
        inp.frame, entity="enterprise", policies=inp.policies, as_of=inp.as_of,
        sets=bench_sets(), related=inp.related, ledger=inp.ledger))
    return EngineRun(seconds=seconds, counts=_long_counts(long, inp.policies))


def _long_counts(long: pl.DataFrame, policies: Sequence[Policy]) -> dict[str, tuple[int, int]]:
    per = long.group_by("policy_id").agg(
        (pl.col("outcome").cast(pl.String) != "undetermined").sum().alias("t"),
        (pl.col("outcome").cast(pl.String) == "undetermined").sum().alias("u"))
    found = {r[0]: (int(r[1]), int(r[2])) for r in per.iter_rows()}
    return {p.id: found.get(p.id, (0, 0)) for p in policies}


def run_duckdb(inp: Inputs) -> EngineRun:
    from bench.peers import duckdb_sql

    frame = inp.ledger_frame()
    seconds, wide = _timed(lambda: duckdb_sql.evaluate(
        frame, inp.policies, catalog=catalog(), sets=bench_sets(), as_of=inp.as_of,
        related=inp.related))
    return EngineRun(seconds=seconds, counts=wide_counts(wide, inp.policies))


def run_numpy(inp: Inputs) -> EngineRun:
    from bench.peers import numpy_eval

    frame = inp.ledger_frame()
    seconds, wide = _timed(lambda: numpy_eval.evaluate(
        frame, inp.policies, catalog=catalog(), sets=bench_sets(), as_of=inp.as_of,
        related=inp.related))
    return EngineRun(seconds=seconds, counts=wide_counts(wide, inp.policies))


def run_python_loop(inp: Inputs) -> EngineRun:
    from bench.peers import python_loop

    sample = inp.frame.head(inp.sample_rows)
    keys = sample.get_column("uscc").cast(pl.String).implode()
    related = {name: RelatedFrame(  # the sampled owners' members: what the loop reads
        members=rf.members.filter(pl.col(OWNER_COLUMN).cast(pl.String).is_in(keys)).collect()
        .lazy(), owners=rf.owners) for name, rf in (inp.related or {}).items()}
    result = python_loop.evaluate_rows(sample, inp.policies, catalog=catalog(),
                                       sets=bench_sets(), as_of=inp.as_of, related=related,
                                       ledger=inp.ledger)
    scale = inp.frame.height / max(sample.height, 1)
    return EngineRun(seconds=result.seconds * scale, sampled_rows=sample.height)


def run_durable(inp: Inputs) -> EngineRun:
    from bench.peers import durable
    from rules.years import bind_policy

    # the ruleset does not know the as-of date: yearly lookups are bound to year columns first
    bound = [bind_policy(p, inp.as_of) for p in inp.policies]
    plans = durable.compile_rulesets(bound, catalog=catalog())
    facts = durable.prepare_facts(inp.ledger_frame(), plans, catalog=catalog(),
                                  sets=bench_sets(), as_of=inp.as_of, limit=inp.sample_rows,
                                  related=inp.related)
    sampled = len(facts[0]) if facts else 0
    seconds = durable.run_facts(plans, facts)
    scale = inp.frame.height / max(sampled, 1)
    return EngineRun(seconds=seconds * scale, sampled_rows=sampled)


def scan_exprs(frame: pl.DataFrame, columns: Sequence[str]) -> list[pl.Expr]:
    """One aggregate per column that has to read every value (and its validity)."""
    exprs: list[pl.Expr] = []
    for n, name in enumerate(sorted(columns)):
        dtype = frame.schema[name]
        col = pl.col(name)
        if dtype == pl.String:
            read = col.str.len_bytes().sum()
        elif dtype == pl.Date:
            read = col.cast(pl.Int32).sum()
        else:
            read = col.sum()
        exprs += [read.alias(f"s{n}"), col.null_count().alias(f"n{n}")]
    return exprs


def run_lower_bound(inp: Inputs) -> EngineRun:
    from rules.years import bind_policy

    columns: set[str] = set()
    for policy in inp.policies:  # yearly fields read as the columns of their years
        columns |= bind_policy(policy, inp.as_of).fields_read
    # declared conditions are in no data: nothing to read
    exprs = scan_exprs(inp.frame, sorted(columns & set(inp.frame.columns)))
    members = [rf.members.collect() for rf in (inp.related or {}).values()]

    def scan() -> pl.DataFrame:
        for m in members:  # every member row is read once at least
            m.lazy().select(scan_exprs(m, [c for c in m.columns if c != OWNER_COLUMN])
                            ).collect()
        return inp.frame.lazy().select(exprs).collect()

    seconds, _ = _timed(scan)
    return EngineRun(seconds=seconds)


ENGINES: dict[str, Engine] = {
    "mianshen": run_mianshen,
    "mianshen-decoded": run_mianshen_decoded,
    "mianshen-plan": run_mianshen_plan,
    "duckdb": run_duckdb,
    "numpy": run_numpy,
    "durable": run_durable,
    "python-loop": run_python_loop,
    "lower-bound": run_lower_bound,
}
