"""`mianshen demo` prints, per policy, eligible and undetermined counts and totals for every
published policy in force, and the synthetic population gives each of them someone eligible
(households, employment links and the award ledger wired in as in the nightly run)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from rich.console import Console

from api.cli.tables import declared_conditions
from api.demo import ALL_IN_EFFECT, run_demo

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("demo")
    console = Console(record=True, width=400, force_terminal=False)
    run_demo(folder, enterprises=12_000, persons=6_000, seed=20251001, console=console)
    return folder, console.export_text()


def _published(folder: Path) -> list:  # type: ignore[type-arg]
    from api.demo import _demo_engine
    from matcher.runs import parse_stored_policies
    from store import policies as policy_store
    from store.db import transaction

    engine = _demo_engine(folder)
    with transaction(engine, write=False) as session:
        versions = policy_store.published_versions(session)
    engine.dispose()
    policies, _ = parse_stored_policies({v.policy_id: v.text for v in versions})
    return policies


def _counts(folder: Path, entity: str, when: dt.date) -> dict[str, tuple[int, int]]:
    out = pl.read_parquet(folder / f"outcomes-{entity}-{when}.parquet")
    table = out.group_by("policy_id").agg(
        e=(pl.col("outcome") == "eligible").sum(), u=(pl.col("outcome") == "undetermined").sum())
    return {r["policy_id"]: (r["e"], r["u"]) for r in table.iter_rows(named=True)}


def test_every_published_policy_in_force_is_listed_and_matches_someone(
        demo: tuple[Path, str]) -> None:
    folder, text = demo
    today = dt.date.today()
    policies = [p for p in _published(folder) if p.trigger is None]
    assert len(policies) >= 20
    checked = 0
    for p in policies:
        # in force today, or (ended since) on the date every bundled policy was in effect
        when = today if p.in_effect(today) else ALL_IN_EFFECT if p.in_effect(ALL_IN_EFFECT) \
            else None
        if when is None:
            continue
        assert p.title in text, p.id
        eligible, undetermined = _counts(folder, p.entity, when).get(p.id, (0, 0))
        if declared_conditions(p) and not eligible:
            # a condition only the applicant declares: the best data can do is undetermined
            # (unless, as in an any-of, another branch decides without it)
            assert undetermined >= 1, (p.id, when)
            assert f"{p.title}（须申报" in text
        else:
            assert eligible >= 1, (p.id, when, eligible, undetermined)
        checked += 1
    assert checked == len([p for p in policies
                           if p.in_effect(today) or p.in_effect(ALL_IN_EFFECT)])


def test_households_and_the_award_ledger_decide_what_they_decide(demo: tuple[Path, str]) -> None:
    """特扶 decided for men through the spouse; the 2025 小巨人 batch firms already paid by
    the earlier system are not paid twice, the others are due."""
    folder, text = demo
    today = dt.date.today()
    assert "奖励台账：导入以往系统已发放的奖励" in text
    fp = pl.read_parquet(folder / f"outcomes-person-{today}.parquet").filter(
        pl.col("policy_id") == "family-planning-special-support", pl.col("outcome") == "eligible")
    sexes = fp["entity_id"].str.slice(16, 1).cast(pl.Int32) % 2
    assert (sexes == 1).any(), "a husband judged on his wife's age"
    paid = pl.read_csv(folder / "sources" / "awards_enterprise.csv")
    giants = pl.read_parquet(folder / f"outcomes-enterprise-{today}.parquet").filter(
        pl.col("policy_id") == "gz-little-giant-reward")
    assert paid.height >= 1 and giants.filter(pl.col("outcome") == "eligible").height >= 1
    assert not giants["entity_id"].is_in(paid["entity_id"].implode()).any()
    before = pl.read_parquet(folder / f"outcomes-enterprise-{ALL_IN_EFFECT}.parquet").filter(
        pl.col("policy_id") == "gz-little-giant-reward", pl.col("outcome") == "eligible")
    assert before["entity_id"].is_in(paid["entity_id"].implode()).any()  # not yet paid then


def test_each_table_ends_with_its_totals(demo: tuple[Path, str]) -> None:
    _, text = demo
    assert text.count("合计（") >= 4
