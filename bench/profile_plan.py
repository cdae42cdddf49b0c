"""Where the compiled polars plan spends its time, against the lower bound (one scan of every
referenced column).

    python -m bench.profile_plan --entities 1000000 --policies 100

Runs, on one generated frame, the variants that take the plan apart (medians of
``--repeat``): the scan; the whole plan; truths only; amounts only; the plan without
common-subexpression elimination; the plan reduced to one number per column (no
materialised output); each kind of leaf condition alone; and ``match_frame`` (long output,
unknown fields, exclusivity, budgets) on top of the plan, step by step. (polars 2 removed
``LazyFrame.profile()``, so the plan is taken apart by these variants instead.)
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from collections.abc import Callable, Sequence
from functools import partial

import polars as pl

from bench.engines import scan_exprs
from bench.generate import AS_OF, bench_sets, catalog, generate_policies, generate_profiles
from rules import ast as A
from rules.compile_polars import CompiledPolicy, compile_policies
from rules.model import Policy


def leaf_kind(expr: A.Expr) -> str:
    """A coarse name for what a leaf condition does, to group their costs."""
    nodes = list(expr.walk())
    names = {type(n).__name__ for n in nodes}
    listed = {n.name for n in nodes if isinstance(n, A.FieldRef)
              and catalog().field(n.name).not_listed_when_empty}
    if "SetRef" in names:
        return "industry set (prefix)"
    if "RegionRef" in names:
        return "region (prefix)"
    if "ListLit" in names or any(isinstance(n, A.String) for n in nodes):
        return "string = / in list"
    if listed:
        return "list-type field (decided)"
    if "Call" in names and any(isinstance(n, A.Call) and n.func in ("years_since", "year",
                                                                      "months_since")
                               for n in nodes):
        return "date function"
    if "Date" in names or "AsOf" in names:
        return "date compare"
    if "Call" in names or "Arith" in names or "Neg" in names:
        return "arithmetic / ratio"
    if "Or" in names or "And" in names:
        return "numeric and/or"
    return "numeric compare"


def median_seconds(fn: Callable[[], object], repeat: int) -> float:
    """The median wall-clock seconds of `repeat` calls of `fn`."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _selecting(lf: pl.LazyFrame, exprs: list[pl.Expr]) -> Callable[[], object]:
    return lambda: lf.select(exprs).collect()


def variants(frame: pl.DataFrame, policies: Sequence[Policy], compiled: dict[str, CompiledPolicy],
             *, with_match: bool = True) -> dict[str, Callable[[], object]]:
    lf = frame.lazy()
    truths = [cp.truth.alias(pid) for pid, cp in compiled.items()]
    amounts = [cp.amount.cast(pl.Float64).alias(pid + ".amount")
               for pid, cp in compiled.items() if cp.amount is not None]
    columns: set[str] = set()
    for p in policies:
        columns |= p.fields_read
    no_cse = pl.QueryOptFlags(comm_subexpr_elim=False)
    out: dict[str, Callable[[], object]] = {
        "lower bound (scan)": lambda: lf.select(scan_exprs(frame, sorted(columns))).collect(),
        "plan: truths + amounts": lambda: lf.select(truths + amounts).collect(),
        "plan: truths only": lambda: lf.select(truths).collect(),
        "plan: amounts only": lambda: lf.select(amounts).collect(),
        "plan without CSE": lambda: lf.select(truths + amounts).collect(optimizations=no_cse),
        "plan, one sum per column (no output)": lambda: lf.select(
            [t.sum() for t in truths] + [a.sum() for a in amounts]).collect(),
        "compile only": lambda: compile_policies(policies, catalog=catalog(), sets=bench_sets(),
                                                 as_of=AS_OF),
    }
    groups: dict[str, list[pl.Expr]] = {}
    for cp in compiled.values():
        for n, cc in enumerate(cp.conditions):
            groups.setdefault(leaf_kind(cc.condition.expr), []).append(
                cc.truth.alias(f"{cp.policy.id}.{n}"))
    for kind, exprs in sorted(groups.items()):
        out[f"leaves: {kind} ({len(exprs)})"] = _selecting(lf, exprs)

    def match() -> object:
        from matcher.evaluate import match_frame
        return match_frame(frame, entity="enterprise", policies=policies, as_of=AS_OF,
                           sets=bench_sets())

    if with_match:
        out["match_frame (long output)"] = match
    return out


def match_breakdown(frame: pl.DataFrame, policies: Sequence[Policy]) -> str:
    """Seconds ``match_frame`` spends in each of its steps, by wrapping the steps of
    :mod:`matcher.evaluate` with timers for one call (instrumentation only; restored after)."""
    import matcher.evaluate as ev

    spent: dict[str, float] = {}
    names = ("make_plan", "profile_base", "listed_pairs", "pair_values", "apply_exclusivity",
             "apply_budgets", "decode")
    originals = {n: getattr(ev, n) for n in names if hasattr(ev, n)}

    def timed(name: str, fn: Callable[..., object]) -> Callable[..., object]:
        def wrapper(*a: object, **k: object) -> object:
            start = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - start
        return wrapper

    for name, fn in originals.items():
        setattr(ev, name, timed(name, fn))
    try:
        start = time.perf_counter()
        ev.match_frame(frame, entity="enterprise", policies=policies, as_of=AS_OF,
                       sets=bench_sets())
        total = time.perf_counter() - start
    finally:
        for name, fn in originals.items():
            setattr(ev, name, fn)
    parts = ", ".join(f"{n} {s:.3f}s" for n, s in spent.items())
    return f"match_frame {total:.3f}s: {parts}"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile_plan", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--entities", type=int, default=200_000)
    p.add_argument("--policies", type=int, default=100)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seed", type=int, default=20251)
    p.add_argument("--as-of", type=dt.date.fromisoformat, default=AS_OF)
    p.add_argument("--no-match", action="store_true", help="skip match_frame (slow at scale)")
    args = p.parse_args(argv)

    frame = generate_profiles(args.entities, seed=args.seed, as_of=args.as_of)
    policies = generate_policies(args.policies, seed=args.seed + 1)
    compiled = compile_policies(policies, catalog=catalog(), sets=bench_sets(), as_of=args.as_of)
    timings = {name: median_seconds(fn, args.repeat) for name, fn in
               variants(frame, policies, compiled, with_match=not args.no_match).items()}
    floor = timings["lower bound (scan)"]

    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"编译后的 polars 计划耗时分解 ({args.entities:,} 企业 × "
                        f"{args.policies} 政策, 中位数)")
    table.add_column("变体")
    table.add_column("秒", justify="right")
    table.add_column("相对扫描下界", justify="right")
    for name, secs in timings.items():
        table.add_row(name, f"{secs:.3f}", f"{secs / floor:.1f}" if floor else "-")
    console = Console(width=140)
    console.print(table)

    leaves = [leaf for p in policies for leaf in p.conditions]
    reads = sum(len(A.fields_read(leaf.expr)) for leaf in leaves)
    columns = set().union(*(p.fields_read for p in policies))
    console.print(f"{len(leaves)} leaf conditions read {len(columns)} distinct columns "
                  f"{reads} times: the scan reads each column once, the plan once per atom "
                  f"({reads / max(len(columns), 1):.1f}x as many column passes)")
    if not args.no_match:
        console.print(match_breakdown(frame, policies))
    lf = frame.lazy().select([cp.truth.alias(pid) for pid, cp in compiled.items()])
    plan = lf.explain()
    console.print(f"optimised truths plan: {plan.count('__POLARS_CSE')} references to "
                  "common subexpressions (computed once each)")
    for engine in ("in-memory", "streaming"):
        secs = median_seconds(partial(lf.collect, engine=engine), args.repeat)
        console.print(f"truths plan on the {engine} engine: {secs:.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
