"""Shared pieces of the partitioned-run tests: policies with budgets and an exclusivity
group, generated enterprise profiles, one snapshot written as a file and as a dataset, and a
store dump that compares runs across databases."""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, select

from profiles.partitions import write_dataset
from rules.loader import Library, load_library
from store.db import transaction
from store.schema import entitlements
from tests.conftest import fresh_database_url, sealed_engine, upgrade
from tests.matcher.conftest import enterprise_frame

AS_OF = dt.date(2025, 11, 3)


def _policy(pid: str, *, amount: str, when: str, extra: str = "") -> str:
    return textwrap.dedent(f"""
    id: {pid}
    title: 测试政策{pid}
    entity: enterprise
    basis: {{document: 测试文件, clause: 第一条}}
    effective: {{from: 2020-01-01}}
    delivery: direct
    eligibility:
      all:
        - {{when: {when}, label: 测试条件}}
    amount: {{formula: {amount}, period: year}}
    {extra}
    """)


POLICIES = {
    "ordered": _policy("ordered", amount="employees * 100", when="employees >= 5",
                       extra="budget: {total: 40000, allocation: ordered, order: [founded_on]}"),
    "prorata": _policy("prorata", amount="employees * 10", when="employees >= 1",
                       extra="budget: {total: 3000, allocation: pro_rata}"),
    "big": _policy("big", amount="300", when="employees >= 30",
                   extra="exclusivity: {group: 同一事项, priority: 1}"),
    "small": _policy("small", amount="200", when="total_assets > 0",
                     extra="exclusivity: {group: 同一事项, priority: 2}"),
}


def library(folder: Path) -> Library:
    folder.mkdir(parents=True, exist_ok=True)
    for pid, text in POLICIES.items():
        (folder / f"{pid}.yaml").write_text(text, encoding="utf-8")
    return load_library([folder])


def profiles(n: int, *, seed: int = 7) -> Any:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        rows.append({
            "uscc": f"E{i:05d}",
            "employees": None if rng.random() < 0.1 else int(rng.integers(0, 60)),
            "total_assets": None if rng.random() < 0.2 else float(rng.integers(0, 10**7)),
            "founded_on": None if rng.random() < 0.1 else dt.date(2000, 1, 1)
            + dt.timedelta(days=int(rng.integers(0, 8000))),
        })
    return enterprise_frame(rows, as_of=AS_OF)


def snapshots(folder: Path, n: int, *, partitions: int, seed: int = 7) -> tuple[Path, Path]:
    """The same profiles as one file and as a dataset of ``partitions`` partitions."""
    frame = profiles(n, seed=seed).sort("uscc")
    file = folder / "snapshot.parquet"
    folder.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(file)
    dataset = folder / "snapshot"
    write_dataset([frame.slice(0, n // 2), frame.slice(n // 2)], dataset, key="uscc",
                  partitions=partitions)
    return file, dataset


def second_engine(backend: str, folder: Path) -> Iterator[Engine]:
    """Another migrated database of ``backend``, to run the same inputs a second way."""
    for url in fresh_database_url(backend, folder):
        upgrade(url)
        engine = sealed_engine(url, folder / "seal")
        try:
            yield engine
        finally:
            engine.dispose()


def dump(engine: Engine) -> list[tuple[Any, ...]]:
    """Every entitlement's key, figures and status (not ids, run ids or times)."""
    c = entitlements.c
    cols = [c.entity_id, c.policy_id, c.benefit_period, c.policy_version, c.outcome,
            c.amount_fen, c.amount_period, c.delivery, c.unknown_fields, c.status]
    with transaction(engine) as s:
        rows = s.execute(select(*cols)).all()
    return sorted((*r[:8], tuple(r[8] or ()), r[9]) for r in rows)
