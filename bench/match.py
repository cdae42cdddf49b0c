"""The matching benchmark: our engine and its peers on the same policies and profiles.

    python -m bench.match --entities 100000 --policies 100 --json out.json

Profiles are generated once per size and written to a temporary Parquet file; each engine
then runs in its own subprocess (same file, same seeded policies) so that its peak memory is
its own: the peak is reset (``/proc/self/clear_refs``) after the frame is loaded and read
from ``VmHWM`` after the runs. Seconds are the median of ``--repeat`` runs. The JSON file
gets one record per (engine, size): ``{engine, entities, policies, seconds,
evals_per_second, peak_rss_mb}`` and a few more keys (runs, sampled_rows, ratios, agreement).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.engines import ENGINES, RELATED_ENGINES, Inputs
from bench.generate import (
    AS_OF,
    generate_all,
    generate_ledger,
    generate_links,
    generate_policies,
    generate_profiles,
)
from bench.generate_yearly import add_yearly
from profiles.relations import RelatedFrame

DEFAULT_ENGINES = ("mianshen", "mianshen-plan", "duckdb", "numpy", "durable", "python-loop",
                   "lower-bound")
REFERENCE = "mianshen"


class BenchError(Exception):
    """Root error of the benchmark."""


class EngineFailed(BenchError):
    def __init__(self, engine: str, returncode: int, stderr: str) -> None:
        self.engine = engine
        self.returncode = returncode
        self.stderr = stderr
        tail = "\n".join(stderr.strip().splitlines()[-15:])
        super().__init__(f"engine '{engine}' exited with status {returncode}:\n{tail}")


def _rss_kb(key: str) -> int:
    text = Path("/proc/self/status").read_text()
    found = re.search(rf"^{key}:\s+(\d+) kB", text, re.MULTILINE)
    return int(found.group(1)) if found else 0


def _reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:  # not Linux, or not allowed: the peak then includes the start-up
        pass


def run_child(*, engine: str, data: Path, policies: int, seed: int, repeat: int,
              sample_rows: int, as_of: dt.date, related: bool = False,
              yearly: bool = False, every: bool = False) -> dict[str, object]:
    """Inside the engine's subprocess: load, reset the peak, run ``repeat`` times. With
    ``related``, a quarter of the leaves aggregate over generated employment links; with
    ``every``, the policies use every construct (:func:`bench.generate.generate_all`) over
    links, year columns and a generated award history."""
    import polars as pl

    frame = pl.read_parquet(data)
    links = generate_links(frame, seed=seed + 2, as_of=as_of) if related or every else None
    if links is not None:  # materialised before the clock starts, like the profiles
        links = {k: RelatedFrame(members=v.members.collect().lazy()) for k, v in links.items()}
    chosen = (generate_all(policies, seed=seed + 1) if every else
              generate_policies(policies, seed=seed + 1, related=related, yearly=yearly))
    ledger = generate_ledger(frame, chosen, seed=seed + 4, as_of=as_of) if every else None
    inputs = Inputs(frame=frame, policies=chosen, as_of=as_of, sample_rows=sample_rows,
                    related=links, ledger=ledger)
    baseline = _rss_kb("VmRSS")
    _reset_peak()
    runs = [ENGINES[engine](inputs) for _ in range(repeat)]
    return {
        "runs": [r.seconds for r in runs],
        "sampled_rows": runs[-1].sampled_rows,
        "counts": runs[-1].counts,
        "peak_rss_mb": round(_rss_kb("VmHWM") / 1024, 1),
        "baseline_rss_mb": round(baseline / 1024, 1),
    }


def measure(*, engine: str, data: Path, entities: int, policies: int, seed: int, repeat: int,
            sample_rows: int, as_of: dt.date, related: bool = False,
            yearly: bool = False, every: bool = False) -> dict[str, object]:
    """Run one engine in a subprocess; its JSON record."""
    cmd = [sys.executable, "-m", "bench.match", "--child", engine, "--data", str(data),
           "--policies", str(policies), "--seed", str(seed), "--repeat", str(repeat),
           "--sample-rows", str(sample_rows), "--as-of", as_of.isoformat(),
           *(["--related"] if related else []), *(["--yearly"] if yearly else []),
           *(["--all-constructs"] if every else [])]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise EngineFailed(engine, proc.returncode, proc.stderr)
    child = json.loads(proc.stdout.strip().splitlines()[-1])
    seconds = statistics.median(child["runs"])
    return {
        "engine": engine,
        "entities": entities,
        "policies": policies,
        "related": related,
        "yearly": yearly,
        "all_constructs": every,
        "seconds": round(seconds, 6),
        "evals_per_second": round(entities * policies / seconds, 1) if seconds > 0 else None,
        "peak_rss_mb": child["peak_rss_mb"],
        "baseline_rss_mb": child["baseline_rss_mb"],
        "runs": [round(s, 6) for s in child["runs"]],
        "sampled_rows": child["sampled_rows"],
        "counts": child["counts"],
        "machine": machine(),
    }


def machine() -> dict[str, object]:
    """The machine a record was measured on: cores, memory, load average at the time."""
    import os

    import polars as pl

    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    return {"cpus": os.cpu_count(), "memory_gb": round(mem_kb / 1024 / 1024, 1),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "polars": pl.__version__, "python": sys.version.split()[0]}


def add_comparisons(records: list[dict[str, object]]) -> None:
    """Ratios to our engine and to the lower bound; whether each engine that evaluated
    every entity found the same per-policy TRUE / UNKNOWN counts as our engine (or, when it
    was not run, as the first engine that evaluated every entity)."""
    counts = {str(r["engine"]): r.pop("counts") for r in records}
    seconds = {str(r["engine"]): float(r["seconds"]) for r in records}  # type: ignore[arg-type]
    full = [e for e in counts if counts[e]]
    agree_ref = REFERENCE if REFERENCE in full else (full[0] if full else None)
    for rec in records:
        engine = str(rec["engine"])
        if seconds.get(REFERENCE):
            rec["vs_mianshen"] = round(seconds[engine] / seconds[REFERENCE], 3)
        if seconds.get("lower-bound"):
            rec["vs_lower_bound"] = round(seconds[engine] / seconds["lower-bound"], 2)
        if agree_ref is not None and counts[engine] and engine != agree_ref:
            rec["agrees_with"] = agree_ref
            rec["agrees"] = counts[engine] == counts[agree_ref]


def print_table(records: Sequence[dict[str, object]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="政策匹配基准 (每项取中位数)")
    for head in ("引擎", "企业数", "政策数", "秒", "评估/秒", "相对 mianshen", "相对扫描下界",
                 "峰值内存 MB", "抽样行数", "结果一致"):
        table.add_column(head, justify="right")
    for r in records:
        agree = r.get("agrees")
        table.add_row(
            str(r["engine"]), f"{r['entities']:,}", str(r["policies"]), f"{r['seconds']:.3f}",
            f"{r['evals_per_second']:,.0f}" if r["evals_per_second"] else "-",
            f"{r.get('vs_mianshen', '-')}", f"{r.get('vs_lower_bound', '-')}",
            f"{r['peak_rss_mb']}", str(r["sampled_rows"] or "全部"),
            "-" if agree is None else ("是" if agree else "否"),
        )
    Console(width=160).print(table)


def run(*, entities: Sequence[int], policies: int, engines: Sequence[str], repeat: int,
        seed: int, sample_rows: int, as_of: dt.date, related: bool = False,
        yearly: bool = False, every: bool = False) -> list[dict[str, object]]:
    """Measure every engine at every size; the records, comparisons added."""
    unknown = [e for e in engines if e not in ENGINES]
    if unknown:
        raise BenchError(f"unknown engine(s) {', '.join(unknown)}; expected some of "
                         f"{', '.join(ENGINES)}")
    if related or every:
        skipped = [e for e in engines if e not in RELATED_ENGINES]
        if skipped:
            print("--related / --all-constructs: 以下引擎不支持关联实体聚合，已跳过: "
                  f"{', '.join(skipped)}", file=sys.stderr)
        engines = [e for e in engines if e in RELATED_ENGINES]
    records: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="mianshen-bench-") as tmp:
        for n in entities:
            data = Path(tmp) / f"profiles-{n}.parquet"
            profiles = generate_profiles(n, seed=seed, as_of=as_of)
            if yearly or every:  # the year columns the yearly leaves read
                profiles = add_yearly(profiles, seed=seed + 3)
            profiles.write_parquet(data)
            del profiles
            size_records = [
                measure(engine=e, data=data, entities=n, policies=policies, seed=seed,
                        repeat=repeat, sample_rows=sample_rows, as_of=as_of, related=related,
                        yearly=yearly, every=every)
                for e in engines
            ]
            add_comparisons(size_records)
            records += size_records
            data.unlink()
    return records


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.match", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--entities", type=int, nargs="+", default=[100_000])
    p.add_argument("--policies", type=int, default=100)
    p.add_argument("--json", type=Path, help="write the records here")
    p.add_argument("--engines", nargs="+", default=list(DEFAULT_ENGINES),
                   choices=sorted(ENGINES), metavar="ENGINE")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seed", type=int, default=20251)
    p.add_argument("--sample-rows", type=int, default=300,
                   help="rows evaluated by the sampled engines (durable, python-loop)")
    p.add_argument("--as-of", type=dt.date.fromisoformat, default=AS_OF)
    p.add_argument("--append", action="store_true", help="add to the records in --json")
    p.add_argument("--related", action="store_true",
                   help="a quarter of the leaves aggregate over generated employment links")
    p.add_argument("--yearly", action="store_true",
                   help="a quarter of the leaves read yearly fields (one year, windows, "
                        "growth) over generated year columns")
    p.add_argument("--all-constructs", action="store_true", dest="every",
                   help="policies with every construct (aggregates, the award ledger, yearly "
                        "fields, dated parameters and tier tables, sets with editions and "
                        "待核 members, declared conditions)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.child:
        out = run_child(engine=args.child, data=args.data, policies=args.policies,
                        seed=args.seed, repeat=args.repeat, sample_rows=args.sample_rows,
                        as_of=args.as_of, related=args.related, yearly=args.yearly,
                        every=args.every)
        print(json.dumps(out))
        return 0
    try:
        records = run(entities=args.entities, policies=args.policies, engines=args.engines,
                      repeat=args.repeat, seed=args.seed, sample_rows=args.sample_rows,
                      as_of=args.as_of, related=args.related, yearly=args.yearly,
                      every=args.every)
    except BenchError as exc:
        print(f"基准测试失败: {exc}", file=sys.stderr)
        return 1
    print_table(records)
    if args.json:
        previous: list[dict[str, object]] = []
        if args.append and args.json.exists():
            previous = json.loads(args.json.read_text(encoding="utf-8"))
        args.json.write_text(json.dumps(previous + records, ensure_ascii=False, indent=2),
                             encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
