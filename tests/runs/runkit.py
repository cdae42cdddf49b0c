"""Shared pieces of the run tests: hand-made policies, snapshots that carry their own
outcomes (the stand-in matcher returns the snapshot as the outcome frame), a store dump,
and a process entry point that runs once and can be killed in the middle of writing."""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine, select

from matcher.outcomes import OUTCOME_SCHEMA
from rules import ast
from rules.model import Amount, Basis, Condition, FormulaAmount, Policy
from store.db import transaction
from store.schema import entitlements


def policy(
    pid: str, *, period: str = "once", entity: str = "enterprise", version: str = "v1"
) -> Policy:
    return Policy(
        id=pid,
        title=f"测试政策 {pid}",
        entity=entity,  # type: ignore[arg-type]
        basis=Basis(document="测试文件"),
        effective_from=dt.date(2020, 1, 1),
        effective_to=None,
        delivery="direct",
        eligibility=Condition(id="c1", expr=ast.Bool(value=True), label="总是"),
        amount=Amount(rule=FormulaAmount(expr=ast.Number(value=1.0)), period=period),  # type: ignore[arg-type]
        version=version,
    )


def outcomes(rows: Sequence[tuple[Any, ...]]) -> pl.DataFrame:
    """Rows of (entity_id, policy_id, outcome, amount in fen, amount_period)."""
    return pl.DataFrame(
        {
            "entity_id": [r[0] for r in rows],
            "policy_id": [r[1] for r in rows],
            "policy_version": ["v1"] * len(rows),
            "outcome": [r[2] for r in rows],
            "amount_fen": [r[3] for r in rows],
            "amount_period": [r[4] for r in rows],
            "delivery": ["direct"] * len(rows),
            "unknown_fields": [[] for _ in rows],
        },
        schema=OUTCOME_SCHEMA,
    )


def write_snapshot(frame: pl.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(path)
    return path


def passthrough_match(frame: pl.DataFrame, **_: Any) -> pl.DataFrame:
    return frame


def dump(engine: Engine) -> list[tuple[Any, ...]]:
    """Every entitlement, comparable across runs."""
    cols = [c for c in entitlements.c if c.name not in ("created_at", "updated_at")]
    with transaction(engine) as s:
        return [tuple(r) for r in s.execute(select(*cols).order_by(entitlements.c.id))]


def main(argv: list[str]) -> None:
    """``python runkit.py URL SNAPSHOT OUTDIR MARKER SEAL_DIR [LOCK_TTL]``: run once with
    policies p1/p2 and hang after writing the changes, before the commit, until killed.
    ``SEAL_DIR`` holds the test's audit key and head file (``tests.conftest.seal_in``)."""
    from matcher import runs
    from store import entitlement_bulk
    from tests.conftest import sealed_engine

    url, snapshot, outdir, marker, seal_dir, *rest = argv
    lock_ttl = float(rest[0]) if rest else 1.0
    original = entitlement_bulk.write_changes

    def write_then_hang(*args: Any, **kwargs: Any) -> dict[str, int]:
        written = original(*args, **kwargs)
        Path(marker).write_text("written")
        time.sleep(120)
        return written

    entitlement_bulk.write_changes = write_then_hang
    runs.execute_run(
        engine=sealed_engine(url, Path(seal_dir)),
        snapshot_path=Path(snapshot),
        as_of=dt.date(2025, 11, 3),
        policies=[policy("p1"), policy("p2", period="month")],
        outcomes_dir=Path(outdir),
        entity="enterprise",
        match=passthrough_match,
        lock_ttl=lock_ttl,
    )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    main(sys.argv[1:])
