"""`mianshen demo`: the whole batch path on a synthetic population, end to end.

a store in the output folder: the demo officer imports the bundled library (versions under
review), the demo reviewer approves each one (two people, both in the audit log) ->
synthesise source extracts -> build profile snapshots (with quarantine) -> match the
*published* library, verified against its review records, as of a date when all of it was in
effect and as of today -> per-policy totals.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from api.cli.tables import print_summary
from rules.model import ENTITY_LABELS

# Every bundled policy is in effect on this date (the 2025-only employment policies and the
# 广州 小巨人 reward from 2025-08-23 included).
ALL_IN_EFFECT = dt.date(2025, 10, 1)
ENTITIES = ("enterprise", "person")
BUILD_STEPS = {"read": "读取数据源", "join": "合并派生", "write": "写入快照"}


def _published_library(folder: Path, *, console: Console) -> tuple[list[Any], Any]:
    """The demo's store (``<folder>/mianshen.db``, keys and audit head file in the folder):
    demo accounts, the library imported and approved by two of them, then read back as
    published and verified against its review records."""
    from api.services.demo_data import STAFF, create_accounts, publish_library
    from matcher.runs import parse_stored_policies
    from store import policies as policy_store
    from store import policy_integrity
    from store.db import transaction, upgrade

    engine = _demo_engine(folder)
    upgrade(engine)
    create_accounts(engine, list(STAFF))
    publish_library(engine, say=console.print)
    with transaction(engine, write=False) as session:
        policy_integrity.verify(session)
        versions = policy_store.published_versions(session)
    engine.dispose()
    return parse_stored_policies({v.policy_id: v.text for v in versions})


def _demo_engine(folder: Path) -> Any:
    from api.settings import Settings
    from api.storage import open_engine

    settings = Settings(data_dir=folder, database_url=f"sqlite:///{folder / 'mianshen.db'}")
    return open_engine(settings)


def _import_awards(folder: Path, sources: Path, *, console: Console) -> None:
    """The synthetic award history into the demo store's ledger (complete from each
    looked-up policy's start), as an officer would import an earlier system's file."""
    from api.services.demo_data import import_demo_awards

    engine = _demo_engine(folder)
    import_demo_awards(engine, sources, say=console.print)
    engine.dispose()


def _ledgers(folder: Path, policies: list[Any], dates: list[dt.date]
             ) -> dict[tuple[str, dt.date], Any]:
    """The award ledger each (entity, date) match reads, from the demo store."""
    from matcher.award_import import load_ledger
    from store.db import transaction

    engine = _demo_engine(folder)
    out: dict[tuple[str, dt.date], Any] = {}
    with transaction(engine, write=False) as session:
        for entity in ENTITIES:
            for when in dates:
                out[(entity, when)] = load_ledger(session, entity_kind=entity,
                                                  library=policies, as_of=when)
    engine.dispose()
    return out


def run_demo(
    folder: Path, *, enterprises: int, persons: int, seed: int, console: Console
) -> None:
    import polars as pl

    from matcher.evaluate import match_frame
    from profiles.build import build_snapshot
    from profiles.derive import derive
    from profiles.relations import load_link_tables, related_frames
    from profiles.synth import LABELS_FILE, synthesize
    from profiles.tags.training import read_labels, train_tag_model

    folder.mkdir(parents=True, exist_ok=True)
    sources = folder / "sources"
    today = dt.date.today()
    dates = [ALL_IN_EFFECT] if today == ALL_IN_EFFECT else [ALL_IN_EFFECT, today]
    policies, sets = _published_library(folder, console=console)
    timings: dict[str, float] = {}

    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
               TextColumn("{task.fields[done]}"), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:

        def counted(task: TaskID, unit: str) -> Callable[[int, int], None]:
            def update(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total,
                                done=f"{done:,}/{total:,} {unit}")
            return update

        rows = enterprises + persons
        steps = progress.add_task("合成人群", total=rows, done=f"0/{rows:,} 行")
        made = {"enterprise": enterprises, "person": persons}
        written = [0]

        def synth_progress(entity: str, _step: int, _total: int) -> None:
            written[0] += made.get(entity, 0)
            counted(steps, "行")(written[0], rows)

        t0 = time.perf_counter()
        synthesize(sources, enterprises=enterprises, persons=persons, seed=seed, bad_rows=20,
                   progress=synth_progress)
        timings["合成"] = time.perf_counter() - t0
        _import_awards(folder, sources, console=console)
        ledgers = _ledgers(folder, policies, dates)

        labelled = read_labels(sources / LABELS_FILE)
        tagging = progress.add_task(f"训练产业链标签模型({len(labelled.texts):,} 条标注)",
                                    total=len(labelled.tags), done="")
        t0 = time.perf_counter()
        tag_model = train_tag_model(labelled, seed=seed, progress=counted(tagging, "个标签"))
        tag_model.save(folder / "chain-tags.model")
        timings["训练标签模型"] = time.perf_counter() - t0

        snapshots: dict[str, Path] = {}
        reports = {}
        for entity in ENTITIES:
            build = progress.add_task(f"构建{ENTITY_LABELS[entity]}画像", total=1, done="")
            t0 = time.perf_counter()
            snapshots[entity] = folder / f"{entity}-profiles.parquet"

            def build_progress(stage: str, done: int, total: int, task: TaskID = build) -> None:
                progress.update(task, completed=done, total=total,
                                done=f"{BUILD_STEPS.get(stage, stage)} {done}/{total}")

            reports[entity] = build_snapshot(
                sources, entity=entity, as_of=ALL_IN_EFFECT, out=snapshots[entity],
                rejects=folder / f"{entity}-rejects.csv",
                tag_model=tag_model if entity == "enterprise" else None,
                progress=build_progress,
            )
            timings[f"构建{ENTITY_LABELS[entity]}画像"] = time.perf_counter() - t0

        total_rows = sum(r.profiles for r in reports.values()) * len(dates)
        matching = progress.add_task("匹配政策", total=total_rows, done=f"0/{total_rows:,} 条画像")
        results: dict[tuple[str, dt.date], pl.DataFrame] = {}
        matched = 0
        # the household register and employment links the policies aggregate over
        links, _ = load_link_tables(sources)
        people = pl.read_parquet(snapshots["person"])
        for entity in ENTITIES:
            # derive() recomputes the date-dependent tags for each date and keeps the
            # inferred chain tags of the snapshot
            base = pl.read_parquet(snapshots[entity])
            for when in dates:
                t0 = time.perf_counter()
                frame = derive(base, entity=entity, as_of=when).collect()
                people_now = derive(people, entity="person", as_of=when).collect()
                related = related_frames(persons=people_now, households=links.get("households"),
                                         employment_links=links.get("employment_links"))
                outcomes = match_frame(frame, entity=entity, policies=policies, as_of=when,
                                       sets=sets, related=related,
                                       ledger=ledgers[(entity, when)])
                outcomes.write_parquet(folder / f"outcomes-{entity}-{when}.parquet")
                results[(entity, when)] = outcomes
                timings[f"匹配{ENTITY_LABELS[entity]} {when}"] = time.perf_counter() - t0
                matched += frame.height
                counted(matching, "条画像")(matched, total_rows)

    for entity in ENTITIES:
        r = reports[entity]
        console.print(
            f"{ENTITY_LABELS[entity]}画像 {r.profiles:,} 条 (读取 {r.rows_read:,} 行, "
            f"隔离 {r.rejected_lines:,} 行, 明细 {r.rejects}); 快照哈希 {r.snapshot_hash[:16]}"
        )
    card = tag_model.card
    def share(value: float | None) -> str:
        return "—" if value is None else f"{value:.2f}"

    console.print("产业链标签模型 " + str(card.get("version", ""))[:12] + "：" + "，".join(
        f"{m.get('label') or tag} 精确率 {share(m['precision'])}/召回率 {share(m['recall'])}"
        for tag, m in card["tags"].items()
    ))
    for (entity, when), outcomes in results.items():
        label = "全部政策生效日" if when == ALL_IN_EFFECT else "今天"
        title = f"{ENTITY_LABELS[entity]} · 评估日 {when} ({label})"
        shown = [p for p in policies if p.entity == entity and p.in_effect(when)
                 and p.trigger is None]  # trigger policies are matched by events only
        print_summary(console, outcomes, shown, title=title)
    console.print("耗时(秒)：" + "，".join(f"{k} {v:.1f}" for k, v in timings.items())
                  + f"；合计 {sum(timings.values()):.0f}")
    console.print(f"[bold green]输出目录: {folder.resolve()}[/bold green]")
    console.print(f"校验审计日志与已发布政策: MIANSHEN_DATA_DIR={folder.resolve()} "
                  f"mianshen audit verify --database-url sqlite:///{folder.resolve()}/mianshen.db")
    t0 = time.perf_counter()
    journey = prepare_journey(folder / "serve-data", enterprises=min(enterprises, 2000),
                              persons=min(persons, 2000), seed=seed, console=console)
    console.print(f"准备网页演示数据耗时 {time.perf_counter() - t0:.1f} 秒")
    print_journey(console, journey)


JOURNEY_PORT = 8000


@dataclass(frozen=True, kw_only=True)
class Journey:
    """What a person needs to walk the journey: the command that serves it, the accounts,
    and one real one-click link from a message the demo run queued."""

    data_dir: Path
    accounts: list[Any]
    link: str | None
    link_title: str | None


def prepare_journey(data_dir: Path, *, enterprises: int, persons: int, seed: int,
                    console: Console) -> Journey:
    """A served store for the pages: the bundled library, a small population, a nightly run
    with its messages in the outbox (one-click links recorded), and demo accounts."""
    from sqlalchemy import select

    from api.services.demo_data import load_demo, store_is_empty
    from api.settings import Settings
    from api.storage import open_engine
    from store.db import transaction, upgrade
    from store.schema import entitlements, links, policies

    settings = Settings(data_dir=data_dir, environment="development",
                        public_base_url=f"http://127.0.0.1:{JOURNEY_PORT}")
    engine = open_engine(settings)
    upgrade(engine)
    accounts = []
    if store_is_empty(engine):
        accounts = load_demo(settings, engine, enterprises=enterprises, persons=persons,
                             seed=seed, say=lambda m: console.print(m, style="dim"))
    enterprise = next((a for a in accounts if a.role == "enterprise"), None)
    link = title = None
    if enterprise is not None:
        with transaction(engine) as session:
            row = session.execute(
                select(links.c.id, policies.c.title)
                .join(entitlements, entitlements.c.id == links.c.entitlement_id)
                .join(policies, policies.c.id == entitlements.c.policy_id)
                .where(entitlements.c.entity_id == enterprise.entity_id,
                       links.c.purpose == "confirm")
                .order_by(links.c.created_at)
            ).first()
        if row is not None:
            link = f"{settings.public_base_url}/l/{row.id}"
            title = row.title
    engine.dispose()
    return Journey(data_dir=data_dir, accounts=accounts, link=link, link_title=title)


def print_journey(console: Console, journey: Journey) -> None:
    console.print()
    console.print("[bold]自己走一遍“一键享”：[/bold]")
    console.print(f"  1. 启动网页：MIANSHEN_DATA_DIR={journey.data_dir.resolve()} mianshen serve "
                  f"--port {JOURNEY_PORT}", highlight=False, soft_wrap=True)
    if journey.link:
        console.print(f"  2. 打开演示企业收到的一键链接（{journey.link_title}）：{journey.link}",
                      highlight=False, soft_wrap=True)
    for a in journey.accounts:
        if a.role in ("enterprise", "citizen", "reviewer"):
            label = {"enterprise": "企业", "citizen": "个人", "reviewer": "审核人员"}[a.role]
            console.print(f"  · 演示账号（{label}）：用户名 {a.user_id}  密码 {a.password}",
                          highlight=False)
    console.print(f"  3. 登录后打开 http://127.0.0.1:{JOURNEY_PORT}/me "
                  "查看每项政策、订阅设置和申请；"
                  "审核人员在 /reviewer/applications 处理申请。", highlight=False, soft_wrap=True)
