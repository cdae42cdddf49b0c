"""The data-safety probe: fuzzed source rows, and runs and deliveries killed with SIGKILL.

    python -m bench.faults                      # 10,000 fuzzed rows, 60 + 60 kill cycles
    python -m bench.faults --rows 2000 --runs 20 --deliveries 20 --json faults.json

Prints the figures of the data-safety closing note:

- **fuzzed rows**: rows of an enterprise extract, each written from a known value in an
  accepted spelling or damaged (trailing characters, impossible dates and times, a
  contradicting section letter, integers beyond 64 bits, decimals a float cannot hold, an
  invalid byte, an extra field, an unbalanced quote). Each must be accepted with exactly its
  known value, or rejected. *Accepted with a changed value* and *valid rows lost* must be 0.
- **killed runs**: a run process (SQLite store, outbox messages enqueued in the run's
  transaction) is killed at a random moment of its life -- importing, matching, writing,
  before or after its commit -- then the run is started again. The entitlements and the
  outbox must equal those of an uninterrupted run: lost and duplicated must be 0.
- **killed deliveries**: a delivery worker sending to a receiver that logs every arrival is
  killed at a random moment, then another worker finishes the queue once the lease expired.
  Lost must be 0. *Duplicated* counts arrivals the receiver saw twice: a kill between
  sending and marking sent is retried with the same idempotency key (at-least-once); a
  receiver that honours the key (inbox, webhook, memory) keeps one, this one does not.

The kills are real (``os.kill(pid, SIGKILL)``) and their moments spread over the process's
measured lifetime. Not a test: figures, printed and optionally written as JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import polars as pl

AS_OF = dt.date(2025, 11, 3)
ROOT = Path(__file__).resolve().parents[1]


# ---- fuzzed rows --------------------------------------------------------------------------


def _usccs(n: int, rng: np.random.Generator) -> list[str]:
    import numpy as np

    from profiles.synth.enterprises import unique_usccs

    return unique_usccs(rng, np.full(n, 440106), np.ones(n, dtype=np.int64)).to_list()


def _fuzz_cell(kind: str, rng: random.Random) -> tuple[str, Any, bool]:
    """(text, the value it means, whether it is valid) for one cell of ``kind``."""
    if kind == "int":
        # the catalog's integers are counts (min 0): a negative one is rightly refused
        n = rng.choice([rng.randint(0, 10_000), 2**53 + rng.randint(1, 99),
                        rng.randint(0, 2**63 - 1)])
        choice = rng.randrange(6) if rng.random() < 0.3 else 5
        if choice == 0:
            return f"{n}.0", n, True
        if choice == 1:
            return str(n + 2**64), None, False  # beyond 64 bits
        if choice == 2:
            return f"{n}.5", None, False
        if choice == 3:
            return f"{n}x", None, False
        return str(n), n, True
    if kind == "float":
        choice = rng.randrange(5) if rng.random() < 0.3 else rng.randrange(2, 5)
        if choice == 0:
            digits = "".join(rng.choice("0123456789") for _ in range(20))
            return f"1{digits}.7", None, False  # more digits than a float holds
        if choice == 1:
            return f"{rng.uniform(0, 1e9):.2f}y", None, False
        x = round(rng.uniform(0, 1e9), rng.randrange(0, 4))
        text = repr(x) if choice == 2 else f"{x:.{rng.randrange(0, 4)}f}"
        return text, float(Decimal(text)), Decimal(repr(float(text))) == Decimal(text)
    if kind == "date":
        day = dt.date(2000, 1, 1) + dt.timedelta(days=rng.randrange(0, 9000))
        choice = rng.randrange(7) if rng.random() < 0.3 else rng.randrange(3, 7)
        if choice == 0:
            return day.isoformat() + rng.choice("0123456789"), None, False  # 2024-01-019
        if choice == 1:
            return f"{day.isoformat()} {rng.randint(24, 99)}:00", None, False
        if choice == 2:
            return f"{day.year}-02-{rng.randint(30, 31)}", None, False
        if choice == 3:
            return f"{day.isoformat()} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}", \
                day, True
        if choice == 4:
            return day.strftime("%Y%m%d"), day, True
        return day.isoformat(), day, True
    # industry code: 3911 is in section C
    choice = rng.randrange(4) if rng.random() < 0.3 else rng.randrange(1, 4)
    if choice == 0:
        return "A3911", None, False
    if choice == 1:
        return "C3911", "3911", True
    return "3911", "3911", True


FIELDS = {"employees": "int", "operating_revenue": "float", "founded_on": "date",
          "industry_code": "code"}


def fuzz_rows(n: int, *, seed: int = 7) -> dict[str, int]:
    """Write ``n`` fuzzed rows as one CSV extract, read it as the ingest does, and compare."""
    import numpy as np

    from profiles.ingest import validate_source
    from profiles.sources import read_extract

    rng = random.Random(seed)
    keys = _usccs(n + n // 10, np.random.default_rng(seed))[:n]
    truth: dict[str, dict[str, Any] | None] = {}
    lines = ["uscc," + ",".join(FIELDS)]
    for key in keys:
        cells, values, valid = [], {}, True
        for name, kind in FIELDS.items():
            text, value, ok = _fuzz_cell(kind, rng)
            cells.append(text)
            values[name], valid = value, valid and ok
        line = ",".join([key, *cells]).encode()
        damage = rng.randrange(40)
        if damage == 0:
            line += b",surplus"
        elif damage == 1:
            line = line.replace(b",", b',"', 1)
        elif damage == 2:
            line += b"\xff"
        valid = valid and damage > 2
        truth[key] = values if valid else None
        lines.append(line.decode("utf-8", errors="surrogateescape"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "enterprise_fuzz.csv")
        path.write_bytes(b"\n".join(
            ln.encode("utf-8", errors="surrogateescape") for ln in lines) + b"\n")
        extract = read_extract(path)
        result = validate_source(extract.frame, entity="enterprise", source="fuzz",
                                 rows=extract.rows, bad_lines=extract.bad_lines)
    clean = {r["uscc"]: r for r in result.clean.iter_rows(named=True)}
    changed = lost = 0
    for key, expected in truth.items():
        got = clean.get(key)
        if expected is None:
            changed += got is not None  # a damaged row must not come through
        elif got is None:
            lost += 1
        elif any(got[f] != expected[f] for f in FIELDS):
            changed += 1
    return {"rows_tried": n, "quarantined": n - len(clean),
            "accepted_changed": changed, "valid_rows_lost": lost,
            "valid_rows": sum(v is not None for v in truth.values())}


# ---- killed runs --------------------------------------------------------------------------


def _seal(folder: Path) -> Any:
    from store.audit import AuditSeal
    from store.audit_heads import HeadFile

    folder.mkdir(parents=True, exist_ok=True)
    key = folder / "audit.key"
    if not key.exists():
        key.write_bytes(os.urandom(24).hex().encode())
    return AuditSeal(key=key.read_bytes().strip(), heads=HeadFile(folder / "audit-head.log"))


def _engine(folder: Path) -> Any:
    from store.db import make_engine

    return make_engine(f"sqlite:///{folder / 'store.db'}", audit_seal=_seal(folder / "seal"))


def _policies() -> list[Any]:
    from rules import ast
    from rules.model import Amount, Basis, Condition, FormulaAmount, Policy

    return [Policy(id=pid, title=f"探针政策 {pid}", entity="enterprise",
                   basis=Basis(document="探针"), effective_from=dt.date(2020, 1, 1),
                   effective_to=None, delivery="direct",
                   eligibility=Condition(id="c1", expr=ast.Bool(value=True), label="总是"),
                   amount=Amount(rule=FormulaAmount(expr=ast.Number(value=1.0)),
                                 period=period),  # type: ignore[arg-type]
                   version="v1")
            for pid, period in (("p1", "once"), ("p2", "month"))]


def _outcomes(seed: int, n: int) -> pl.DataFrame:
    import polars as pl

    from matcher.outcomes import OUTCOME_SCHEMA

    rng = random.Random(seed)
    rows = [(f"E{i:05d}", rng.choice(["p1", "p2"])) for i in range(n) if rng.random() < 0.8]
    rows = list(dict.fromkeys(rows))
    return pl.DataFrame({
        "entity_id": [r[0] for r in rows], "policy_id": [r[1] for r in rows],
        "policy_version": ["v1"] * len(rows), "outcome": ["eligible"] * len(rows),
        "amount_fen": [rng.randint(1, 10**6) for _ in rows],
        "amount_period": ["once" if r[1] == "p1" else "month" for r in rows],
        "delivery": ["direct"] * len(rows), "unknown_fields": [[] for _ in rows],
    }, schema=OUTCOME_SCHEMA)


def _enqueue_hook(session: Any, changes: Any, run_id: str) -> None:
    from store.outbox import OutboxMessage, enqueue

    messages = [
        OutboxMessage(idempotency_key=f"{row['entity_id']}:{row['policy_id']}:"
                                      f"{row['benefit_period']}:{kind}",
                      recipient_kind="enterprise", recipient_id=row["entity_id"],
                      channel="inbox", kind="new" if kind == "new" else "revoked")
        for kind, frame in (("new", changes.new), ("revoked", changes.revoked))
        for row in frame.iter_rows(named=True)
    ]
    enqueue(session, messages)


def run_once(folder: Path, snapshot: Path) -> Any:
    from matcher.runs import execute_run

    return execute_run(engine=_engine(folder), snapshot_path=snapshot, as_of=AS_OF,
                       policies=_policies(), outcomes_dir=folder / "outcomes",
                       entity="enterprise", match=lambda frame, **_: frame,
                       lock_ttl=300.0, on_changes=_enqueue_hook)


def _state(folder: Path) -> tuple[list[tuple[Any, ...]], list[str]]:
    from sqlalchemy import select

    from store.db import transaction
    from store.schema import entitlements, outbox

    with transaction(_engine(folder), write=False) as s:
        ents = [tuple(r) for r in s.execute(select(
            entitlements.c.entity_id, entitlements.c.policy_id, entitlements.c.benefit_period,
            entitlements.c.status, entitlements.c.amount_fen).order_by(
            entitlements.c.entity_id, entitlements.c.policy_id))]
        keys = [str(k) for k in s.scalars(select(outbox.c.idempotency_key))]
    return ents, keys


def killed_runs(cycles: int, *, rows: int, seed: int = 7, parallel: int = 4) -> dict[str, Any]:
    """``cycles`` kill-and-rerun cycles, ``parallel`` at a time (each in its own store)."""
    from store.db import upgrade

    work = Path(tempfile.mkdtemp(prefix="faults-runs-"))
    try:
        first, second = work / "a.parquet", work / "b.parquet"
        _outcomes(1, rows).write_parquet(first)
        _outcomes(2, rows).write_parquet(second)
        template = work / "template"
        upgrade(_engine(template))
        run_once(template, first)
        expected_dir = work / "expected"
        shutil.copytree(template, expected_dir)
        child = [sys.executable, "-m", "bench.faults", "--child-run"]
        lifetime = _child_work_seconds([*child, str(expected_dir), str(second)], expected_dir)
        expected = _state(expected_dir)
        stages: dict[str, int] = {}
        lost = duplicated = wrong = 0

        def cycle(i: int) -> tuple[str, int, int, bool]:
            rng = random.Random(seed * 1000 + i)
            folder = work / f"c{i}"
            shutil.copytree(template, folder)
            proc = subprocess.Popen([*child, str(folder), str(second)], cwd=ROOT)
            _wait_ready(folder, proc, early=rng.random() < 0.1)
            time.sleep(rng.uniform(0.0, 1.2) * lifetime)
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            stage = _run_stage(folder)
            run_once(folder, second)
            ents, keys = _state(folder)
            shutil.rmtree(folder)
            return (stage, len(set(expected[1]) - set(keys)), len(keys) - len(set(keys)),
                    ents != expected[0])

        with ThreadPoolExecutor(max_workers=parallel) as pool:
            for stage, n_lost, n_dup, differs in pool.map(cycle, range(cycles)):
                stages[stage] = stages.get(stage, 0) + 1
                lost, duplicated, wrong = lost + n_lost, duplicated + n_dup, wrong + differs
        return {"cycles": cycles, "kill_stages": stages, "lost_messages": lost,
                "duplicated_messages": duplicated, "entitlement_states_differing": wrong,
                "expected_messages": len(expected[1]), "child_seconds": round(lifetime, 2)}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run_stage(folder: Path) -> str:
    """Where the killed run was: by the record it left."""
    from sqlalchemy import select

    from store.db import transaction
    from store.schema import runs

    with transaction(_engine(folder), write=False) as s:
        statuses = [str(r) for r in s.scalars(select(runs.c.status))]
    if statuses.count("succeeded") >= 2:
        return "finished"
    if "running" in statuses:
        return "recorded, not committed"
    if (folder / "ready").exists():
        return "started, not recorded"
    return "starting up"


def _child_work_seconds(command: list[str], folder: Path) -> float:
    """How long an uninterrupted child works, from ``ready`` to its exit."""
    proc = subprocess.Popen(command, cwd=ROOT)
    _wait_ready(folder, proc, early=False)
    t0 = time.perf_counter()
    if proc.wait() != 0:
        raise RuntimeError(f"the probe child failed: {command}")
    return time.perf_counter() - t0


def _wait_ready(folder: Path, proc: subprocess.Popen[bytes], *, early: bool) -> None:
    """Until the child has imported everything and starts its work (``ready`` file); with
    ``early``, not at all (a kill while it starts up)."""
    deadline = time.monotonic() + 600  # a loaded machine imports slowly
    while not early and not (folder / "ready").exists() and proc.poll() is None:
        if time.monotonic() > deadline:
            return  # then it is killed while starting up
        time.sleep(0.005)


# ---- killed deliveries ----------------------------------------------------------------------


class LoggingReceiver:
    """A channel whose receiver appends every arrival's key to a file (fsync'd)."""

    name = "inbox"
    idempotent = False
    needs_address = False

    def __init__(self, log: Path, *, pause: float) -> None:
        self.log, self.pause = log, pause

    def send(self, message: Any) -> Any:
        from notifier.abc import Receipt

        time.sleep(self.pause)
        with self.log.open("a", encoding="utf-8") as fh:
            fh.write(message.idempotency_key + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        return Receipt(provider_id=f"log:{message.idempotency_key}")


def _deliver_all(folder: Path, log: Path, *, pause: float, now: dt.datetime | None = None) -> None:
    from notifier.worker import run_delivery_once
    from store.db import session_factory

    engine = _engine(folder)
    channels: dict[str, Any] = {"inbox": LoggingReceiver(log, pause=pause)}
    while run_delivery_once(session_factory(engine), channels, worker=f"w{os.getpid()}",
                            now=now, lease_seconds=1.0, limit=5).claimed:
        pass


def killed_deliveries(
    cycles: int, *, messages: int, seed: int = 7, parallel: int = 4
) -> dict[str, Any]:
    """``cycles`` kill-and-finish cycles, ``parallel`` at a time (each in its own store)."""
    from notifier.links import Links
    from notifier.model import EntitlementChange, Recipient
    from notifier.outbox import enqueue_changes
    from store.db import session_factory, upgrade

    work = Path(tempfile.mkdtemp(prefix="faults-deliveries-"))
    try:
        template = work / "template"
        engine = _engine(template)
        upgrade(engine)
        changes = [EntitlementChange(
            entity_kind="person", entity_id=f"P{i:04d}", policy_id="sh-elderly-allowance",
            policy_version="v1", policy_title="上海市老年综合津贴", benefit_period="2025-06",
            change="new", outcome="eligible", amount_fen=15000, entitlement_id=i,
            amount_period="month", delivery="direct") for i in range(messages)]
        recipients = {("person", c.entity_id): Recipient(entity_kind="person",
                                                         entity_id=c.entity_id, addresses={})
                      for c in changes}
        with session_factory(engine)() as s, s.begin():
            enqueue_changes(s, changes, links=Links(base_url="https://mianshen.example.cn",
                                                    secret=os.urandom(16)),
                            as_of=dt.date(2025, 6, 1), recipients=recipients,
                            enabled_channels=("inbox",))
        _, keys = _state(template)
        pause = 0.01
        child = [sys.executable, "-m", "bench.faults", "--child-deliver"]
        probe = work / "probe"
        shutil.copytree(template, probe)
        lifetime = _child_work_seconds([*child, str(probe), str(work / "probe.log"), str(pause)],
                                       probe)
        lost = repeats = 0

        def cycle(i: int) -> tuple[int, int]:
            rng = random.Random(seed * 1000 + i)
            folder = work / f"d{i}"
            shutil.copytree(template, folder)
            log = folder / "received.log"
            proc = subprocess.Popen([*child, str(folder), str(log), str(pause)], cwd=ROOT)
            _wait_ready(folder, proc, early=rng.random() < 0.1)
            time.sleep(rng.uniform(0.0, 1.2) * lifetime)
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)  # leases expired
            _deliver_all(folder, log, pause=0.0, now=later)
            received = log.read_text(encoding="utf-8").split() if log.exists() else []
            shutil.rmtree(folder)
            return len(set(keys) - set(received)), len(received) - len(set(received))

        with ThreadPoolExecutor(max_workers=parallel) as pool:
            for n_lost, n_repeats in pool.map(cycle, range(cycles)):
                lost, repeats = lost + n_lost, repeats + n_repeats
        return {"cycles": cycles, "messages_per_cycle": len(keys), "lost_messages": lost,
                "duplicated_messages": repeats,
                "child_seconds": round(lifetime, 2)}
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ---- entry points -------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=10_000)
    p.add_argument("--runs", type=int, default=60)
    p.add_argument("--deliveries", type=int, default=60)
    p.add_argument("--run-rows", type=int, default=3000)
    p.add_argument("--messages", type=int, default=40)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--parallel", type=int, default=4, help="kill cycles at a time")
    p.add_argument("--json", type=Path)
    p.add_argument("--child-run", nargs=2, metavar=("FOLDER", "SNAPSHOT"))
    p.add_argument("--child-deliver", nargs=3, metavar=("FOLDER", "LOG", "PAUSE"))
    args = p.parse_args(argv)
    if args.child_run:
        import matcher.runs  # noqa: F401  (imports done before "ready")

        _engine(Path(args.child_run[0]))
        Path(args.child_run[0], "ready").touch()
        run_once(Path(args.child_run[0]), Path(args.child_run[1]))
        return
    if args.child_deliver:
        import notifier.worker  # noqa: F401

        folder, log, pause = args.child_deliver
        Path(folder, "ready").touch()
        _deliver_all(Path(folder), Path(log), pause=float(pause))
        return
    out: dict[str, Any] = {}
    out["fuzz"] = fuzz_rows(args.rows, seed=args.seed)
    print("模糊测试行：尝试 {rows_tried}，隔离 {quarantined}，被接受但值被改变 "
          "{accepted_changed}，丢失的有效行 {valid_rows_lost}（有效行共 {valid_rows}）"
          .format(**out["fuzz"]), flush=True)
    out["runs"] = killed_runs(args.runs, rows=args.run_rows, seed=args.seed,
                              parallel=args.parallel)
    print("被杀运行：{cycles} 次（阶段 {kill_stages}），丢失消息 {lost_messages}，"
          "重复消息 {duplicated_messages}，资格状态不一致 {entitlement_states_differing}"
          .format(**out["runs"]), flush=True)
    out["deliveries"] = killed_deliveries(args.deliveries, messages=args.messages,
                                          seed=args.seed, parallel=args.parallel)
    print("被杀投递：{cycles} 次（每次 {messages_per_cycle} 条），丢失消息 {lost_messages}，"
          "接收端收到两次的消息 {duplicated_messages}（接收端不按幂等键去重时）"
          .format(**out["deliveries"]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
