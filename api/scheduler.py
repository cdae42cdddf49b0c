"""The nightly job and its scheduler (APScheduler 3).

The job: ingest and build the snapshot of each entity from the source extracts, match the
policies published as of the date, diff and write the entitlement changes
(:func:`run_pipeline`). The scheduler fires it on a cron from the settings (default 02:00
Asia/Shanghai) with a misfire grace time.

Two scheduler processes (two machines, or a restart overlapping the old process) are safe:
each firing claims its slot (``nightly@<scheduled time>``) in the database ``locks`` table, so
one process runs it and the other skips it; and a run itself takes the ``run`` lock, so a
manual ``mianshen run`` never overlaps the nightly one.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from api.settings import Settings

if TYPE_CHECKING:
    from profiles.relations import Relations

log = logging.getLogger("mianshen.scheduler")
Progress = Callable[[str, str], None]
SLOT_LOCK_TTL = dt.timedelta(hours=20)


@dataclass(frozen=True, kw_only=True)
class PipelineReport:
    """The run report of one pipeline pass: one run report per entity, and what was skipped."""

    as_of: dt.date
    runs: tuple[Any, ...] = ()  # matcher.runs.RunReport
    builds: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "runs": [r.to_dict() for r in self.runs],
            "builds": self.builds,
            "skipped": self.skipped,
        }


def prepare_store(engine: Engine) -> None:
    """Migrate the database. (Policies are never imported here: ``mianshen policies import``
    puts them under review, and only a reviewer publishes them.)"""
    from store.db import upgrade

    upgrade(engine)


def publish_scheduled(settings: Settings, *, engine: Engine) -> list[Any]:
    """Publish the approved versions scheduled for today or earlier (local date), before a
    run reads the published rules."""
    from zoneinfo import ZoneInfo

    from store import policies as policy_store
    from store.db import transaction

    today = dt.datetime.now(ZoneInfo(settings.timezone)).date()
    with transaction(engine) as session:
        return policy_store.publish_due(session, today=today)


def run_pipeline(
    settings: Settings,
    *,
    engine: Engine,
    sources_dir: Path,
    as_of: dt.date,
    entities: Sequence[str] = ("enterprise", "person"),
    actor: str = "system",
    progress: Progress | None = None,
    partitions: int | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    part_progress: Callable[[str, int, int], None] | None = None,
) -> PipelineReport:
    """ingest -> build -> match -> diff for each entity; the report is also written to
    ``<data_dir>/reports/<as_of>-<time>.json``. With ``partitions`` the built snapshot is
    written as a dataset of that many partitions and matched partition by partition, in
    process, on ``workers`` local processes or on the Dask cluster at ``scheduler``
    (:mod:`matcher.partitioned`)."""
    from matcher.runs import execute_run, published_policies
    from profiles.build import build_snapshot
    from profiles.errors import SourcesNotFoundError

    say = progress or (lambda _stage, _msg: None)
    prepare_store(engine)
    for version in publish_scheduled(settings, engine=engine):
        say("publish", f"定时发布：{version.policy_id} 第 {version.number} 版今日生效")
    reports: list[Any] = []
    builds: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    from api.services.labels import ENTITY_LABELS

    # persons first: their snapshot gives the members' own fields to the relations an
    # enterprise's policies aggregate over (its hires); reports keep the order asked for
    persons: tuple[Path, str] | None = None
    for entity in sorted(entities, key=lambda e: e != "person"):
        label = ENTITY_LABELS.get(entity, entity)
        say("build", f"{label}：读取并校验源数据 …")
        # each pass builds under a name of its own, then files the snapshot under its content
        # hash: two runs started together never read each other's half-written file
        building = settings.snapshots_dir / (
            f".build-{os.getpid()}-{uuid.uuid4().hex[:8]}-{entity}-{as_of.isoformat()}.parquet")
        rejects = settings.snapshots_dir / f"{entity}-{as_of.isoformat()}-rejects.csv"
        started = time.perf_counter()
        try:
            built = build_snapshot(
                sources_dir, entity=entity, as_of=as_of, out=building, rejects=rejects
            )
        except SourcesNotFoundError as exc:
            skipped[entity] = str(exc)
            say("build", f"{label}：跳过（{exc}）")
            continue
        snapshot = file_snapshot(building, entity=entity, as_of=as_of,
                                 content_hash=built.snapshot_hash)
        if entity == "person":
            persons = (snapshot, built.snapshot_hash)
        missing = missing_sources(built, entity=entity)
        if missing and not settings.allow_missing_sources:
            # a department's extract absent tonight would turn its list-type fields
            # (certificates, blacklists, disability) into "not on the list" and revoke
            # entitlements that are still due: refuse the run instead
            reason = (f"缺少数据源 {'、'.join(missing)}：为避免误撤销待遇，本次不运行"
                      "(确认缺失无误后可设置 MIANSHEN_ALLOW_MISSING_SOURCES=1)")
            skipped[entity] = reason
            say("build", f"{label}：跳过（{reason}）")
            log.warning("run refused: missing sources",
                        extra={"entity": entity, "missing": list(missing)})
            continue
        builds[entity] = {
            "profiles": built.profiles,
            "rejected_lines": built.rejected_lines,
            "snapshot_hash": built.snapshot_hash,
            "seconds": round(time.perf_counter() - started, 3),
        }
        say("build", f"{label}：画像 {built.profiles} 条，隔离 {built.rejected_lines} 行")
        held = int(built.held.get("entities", 0) or 0) if built.held else 0
        if held:
            builds[entity]["held_entities"] = held
            by_source = built.held.get("by_source")
            why = held_reasons_text(by_source if isinstance(by_source, dict) else {})
            say("build", f"{label}：{held} 个主体的源数据行被隔离，本次暂缓变更其待遇（{why}）")
        policies, sets = published_policies(engine, entity=entity, as_of=as_of)
        if not any(p.entity == entity for p in policies):
            reason = ("尚无已发布且在评估日生效的政策：请先导入（mianshen policies import），"
                      "再由审核人员逐项审核发布")
            skipped[entity] = reason
            say("match", f"{label}：跳过（{reason}）")
            continue
        snapshot, declared = with_declarations(engine, snapshot, entity=entity, as_of=as_of)
        if declared:
            builds[entity]["declared_entities"] = declared
            say("build", f"{entity}: 采用 {declared} 个主体已获批申请中的申报信息")
        relations = run_relations(settings, sources_dir, policies, entity=entity, as_of=as_of,
                                  persons=persons, say=say)
        hook = _run_hook(settings, entity, policies, as_of=as_of, snapshot=snapshot, sets=sets,
                         related=relations.frames)
        if relations.rejects.height:
            builds[entity]["link_rejected_lines"] = relations.rejects.height
        if partitions:
            from profiles.catalog import load_catalog
            from profiles.partitions import partition_file

            say("build", f"{label}：按主体代码散列写成 {partitions} 个分区 …")
            dataset = snapshot.with_name(snapshot.stem + f"-p{partitions}")
            partition_file(snapshot, dataset, key=load_catalog().entity(entity).key,
                           partitions=partitions)
            snapshot = dataset
        report = execute_run(
            engine=engine,
            snapshot_path=snapshot,
            as_of=as_of,
            policies=policies,
            outcomes_dir=settings.outcomes_dir,
            entity=entity,
            sets=sets,
            actor=actor,
            rejects=built.rejected_lines,
            lock_ttl=settings.run_lock_ttl_seconds,
            progress=_prefixed(say, label),
            on_changes=hook,
            scheduler=scheduler,
            workers=workers,
            part_progress=part_progress,
            related=relations,
        )
        reports.append(report)
        log.info(
            "run finished",
            extra={
                "run_id": report.run_id,
                "entity": entity,
                "status": report.status,
                "new": report.new,
                "updated": report.updated,
                "revoked": report.revoked,
            },
        )
    reports.sort(key=lambda r: list(entities).index(r.entity))
    result = PipelineReport(as_of=as_of, runs=tuple(reports), builds=builds, skipped=skipped)
    _write_report(settings, result)
    return result


def run_relations(settings: Settings, links_dir: Path | None, policies: Sequence[Any], *,
                  entity: str, as_of: dt.date, persons: tuple[Path, str] | None,
                  say: Progress) -> Relations:
    """The household register and employment links in ``links_dir`` over the person
    snapshot ``persons`` (path, content hash), when a policy of ``entity`` aggregates over a
    relation; their quarantined rows go to ``<snapshots>/links-<as_of>-rejects.csv``."""
    from profiles.partitions import scan_snapshot
    from profiles.relations import Relations, load_relations

    if links_dir is None or not any(p.entity == entity and p.aggregates for p in policies):
        return Relations.none()
    people = scan_snapshot(persons[0]) if persons is not None else None
    relations = load_relations(links_dir, persons=people,
                               persons_hash=persons[1] if persons is not None else None)
    if relations.rejects.height:
        relations.rejects.write_csv(
            settings.snapshots_dir / f"links-{as_of.isoformat()}-rejects.csv")
        say("build", f"关联表（户籍家庭成员、就业参保登记）隔离 {relations.rejects.height} 行")
    return relations


def run_snapshot(
    settings: Settings,
    *,
    engine: Engine,
    snapshot: Path,
    entity: str,
    as_of: dt.date,
    actor: str = "system",
    progress: Progress | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    part_progress: Callable[[str, int, int], None] | None = None,
    links: Path | None = None,
    persons: Path | None = None,
) -> PipelineReport:
    """match -> diff -> outbox for a snapshot built beforehand (a file or a partitioned
    dataset, :mod:`profiles.partitions`). Refused while approved applications hold declared
    facts for ``entity``: only a snapshot built by :func:`run_pipeline` carries them.
    ``links``: the folder of the link tables (household register, employment links) and
    ``persons`` the person snapshot giving their members' fields (for a person run, the
    snapshot itself)."""
    from matcher.runs import RunError, execute_run, published_policies
    from store.applications import declared_answers
    from store.db import transaction

    say = progress or (lambda _stage, _msg: None)
    prepare_store(engine)
    with transaction(engine) as session:
        if declared_answers(session, entity_kind=entity):
            raise RunError("已批准的申请中有申报信息，需由源数据构建画像时叠加："
                           "请用 --sources 运行，而不是 --snapshot")
    policies, sets = published_policies(engine, entity=entity, as_of=as_of)
    if not any(p.entity == entity for p in policies):
        reason = ("尚无已发布且在评估日生效的政策：请先导入（mianshen policies import），"
                  "再由审核人员逐项审核发布")
        say("match", reason)
        return PipelineReport(as_of=as_of, runs=(), builds={}, skipped={entity: reason})
    from matcher.runs import snapshot_hash

    people = persons or (snapshot if entity == "person" else None)
    relations = run_relations(
        settings, links, policies, entity=entity, as_of=as_of, say=say,
        persons=(people, snapshot_hash(people)) if people is not None else None)
    hook = _run_hook(settings, entity, policies, as_of=as_of, snapshot=snapshot, sets=sets,
                     related=relations.frames)
    report = execute_run(
        engine=engine, snapshot_path=snapshot, as_of=as_of, policies=policies,
        outcomes_dir=settings.outcomes_dir, entity=entity, sets=sets, actor=actor,
        lock_ttl=settings.run_lock_ttl_seconds, progress=say, on_changes=hook,
        scheduler=scheduler, workers=workers, part_progress=part_progress,
        related=relations,
    )
    result = PipelineReport(as_of=as_of, runs=(report,), builds={}, skipped={})
    _write_report(settings, result)
    return result


def with_declarations(engine: Engine, snapshot: Path, *, entity: str,
                      as_of: dt.date) -> tuple[Path, int]:
    """The snapshot a run matches: the built one, or — when applicants declared facts in
    approved applications — a copy where those answers fill what the data leaves empty
    (never over a known value), derived tags recomputed, hashed by content so that the run's
    identity covers the declarations. Returns the path and how many entities it touched."""
    import hashlib

    from api.services.population import fill_declared
    from profiles.build import META_KEY, read_snapshot, write_atomically
    from store.applications import declared_answers
    from store.db import transaction

    with transaction(engine) as session:
        answers = declared_answers(session, entity_kind=entity)
    if not answers:
        return snapshot, 0
    frame, meta = read_snapshot(snapshot)
    overlaid = fill_declared(frame, answers, entity=entity, as_of=as_of)
    body = json.dumps(answers, sort_keys=True, ensure_ascii=False, default=str)
    meta["snapshot_hash"] = hashlib.sha256(
        (str(meta.get("snapshot_hash", "")) + body).encode()).hexdigest()
    meta["declarations"] = len(answers)
    out = snapshot.with_name(f"{entity}-{as_of.isoformat()}-{str(meta['snapshot_hash'])[:12]}"
                             "-declared.parquet")
    text = json.dumps(meta, ensure_ascii=False, sort_keys=True)
    write_atomically(out, lambda tmp: overlaid.write_parquet(tmp, metadata={META_KEY: text}))
    return out, len(answers)


def file_snapshot(building: Path, *, entity: str, as_of: dt.date, content_hash: str) -> Path:
    """Move a freshly built snapshot (and its sidecar) to ``<entity>-<as_of>-<hash>.parquet``:
    one rename each, so the name always holds the whole file, and the same content always
    has the same name."""
    final = building.with_name(f"{entity}-{as_of.isoformat()}-{content_hash[:12]}.parquet")
    sidecar = building.with_name(building.name + ".meta.json")
    if sidecar.exists():
        os.replace(sidecar, final.with_name(final.name + ".meta.json"))
    os.replace(building, final)
    return final


def held_reasons_text(by_source: dict[str, dict[str, int]]) -> str:
    """Why entities were held, for people: ``残联：不是整数 3 个``."""
    from profiles.ingest import reason_label

    parts = []
    for source, codes in sorted(by_source.items()):
        what = "、".join(f"{reason_label(code)} {n} 个" for code, n in sorted(codes.items()))
        parts.append(f"{source}：{what}")
    return "；".join(parts)


def missing_sources(built: Any, *, entity: str) -> tuple[str, ...]:
    """Source departments of the catalog's base fields for ``entity`` that delivered no
    usable extract in this build (absent, or refused as a whole)."""
    from profiles.catalog import load_catalog

    expected = {f.source for f in load_catalog().entity(entity).base_fields if f.source}
    delivered = {s.source for s in built.sources if s.refused is None}
    return tuple(sorted(expected - delivered))


def _prefixed(say: Progress, prefix: str) -> Progress:
    return lambda stage, msg: say(stage, f"{prefix}：{msg}")


def _write_report(settings: Settings, report: PipelineReport) -> Path:
    settings.reports_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = settings.reports_dir / f"{report.as_of.isoformat()}-{stamp}.json"
    path.write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
    return path


# ---- scheduling -------------------------------------------------------------------------


def owner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_slot(engine: Engine, slot: dt.datetime, *, owner: str) -> bool:
    """Claim the firing at ``slot`` for this process; False when another process has it."""
    from store import locks

    name = f"nightly@{slot.astimezone(dt.UTC).isoformat(timespec='seconds')}"
    return locks.acquire(engine, name, owner=owner, ttl_seconds=SLOT_LOCK_TTL.total_seconds())


def once_per_slot(
    engine: Engine, trigger: Any, job: Callable[[], object], *, grace_seconds: int
) -> Callable[[], None]:
    """Wrap ``job`` so that of all processes firing the same scheduled time, one runs it."""
    owner = owner_name()

    def fire() -> None:
        now = dt.datetime.now(dt.UTC)
        slot = trigger.get_next_fire_time(None, now - dt.timedelta(seconds=grace_seconds))
        slot = slot or now
        if not claim_slot(engine, slot, owner=owner):
            log.info("slot taken by another scheduler", extra={"slot": slot.isoformat()})
            return
        log.info("nightly job starts", extra={"slot": slot.isoformat()})
        try:
            job()
        except Exception:
            log.exception("nightly job failed", extra={"slot": slot.isoformat()})

    return fire


def cron_trigger(settings: Settings) -> Any:
    from apscheduler.triggers.cron import CronTrigger

    return CronTrigger.from_crontab(settings.nightly_cron, timezone=ZoneInfo(settings.timezone))


def build_scheduler(
    settings: Settings,
    *,
    engine: Engine,
    job: Callable[[], object],
    trigger: Any = None,
    blocking: bool = True,
    delivery: Callable[[], object] | None = None,
) -> Any:
    """A scheduler with the nightly ``job`` on ``trigger`` (default: the settings' cron) and,
    when given, the outbox ``delivery`` pass every ``delivery_interval_seconds``."""
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    trigger = trigger or cron_trigger(settings)
    tz = ZoneInfo(settings.timezone)
    scheduler = BlockingScheduler(timezone=tz) if blocking else BackgroundScheduler(timezone=tz)
    if delivery is not None:
        scheduler.add_job(
            delivery,
            trigger="interval",
            seconds=settings.delivery_interval_seconds,
            id="delivery",
            name="outbox delivery pass",
            coalesce=True,
            max_instances=1,
            replace_existing=True,
        )
    scheduler.add_job(
        once_per_slot(engine, trigger, job, grace_seconds=settings.misfire_grace_seconds),
        trigger=trigger,
        id="nightly",
        name="nightly ingest-build-match-diff",
        misfire_grace_time=settings.misfire_grace_seconds,
        coalesce=True,
        max_instances=1,
        replace_existing=True,
    )
    return scheduler


def nightly_job(settings: Settings, *, engine: Engine) -> Callable[[], object]:
    """The pipeline on the configured sources, as of today in the configured time zone."""

    def job() -> PipelineReport | None:
        if settings.sources_dir is None:
            log.warning("MIANSHEN_SOURCES_DIR is not set; nightly job skipped")
            return None
        today = dt.datetime.now(ZoneInfo(settings.timezone)).date()
        return run_pipeline(
            settings,
            engine=engine,
            sources_dir=settings.sources_dir,
            as_of=today,
            entities=settings.nightly_entities,
        )

    return job


def delivery_job(settings: Settings) -> Callable[[], object]:
    """One pass of the outbox worker over the configured channels (leases make concurrent
    passes from two scheduler processes safe)."""

    def job() -> object:
        from notifier.settings import NotifierSettings, run_configured_delivery_once

        notifier_settings = NotifierSettings(database_url=settings.database_url)
        return run_configured_delivery_once(settings=notifier_settings)

    return job


def serve(settings: Settings) -> None:
    """``mianshen scheduler``: migrate, then fire the nightly job on schedule until
    interrupted."""
    from api.storage import open_engine

    engine = open_engine(settings)
    prepare_store(engine)
    scheduler = build_scheduler(
        settings,
        engine=engine,
        job=nightly_job(settings, engine=engine),
        delivery=delivery_job(settings),
    )
    scheduler.start()


def _run_hook(settings: Any, entity: str, policies: Any, *, as_of: dt.date, snapshot: Path,
              sets: Any, related: Any = None) -> Any:
    """The outbox hook of one entity's run: messages with signed one-click links, written in
    the run's transaction."""
    from api.delivery import LinkConfig, outbox_hook
    from notifier.links import LinkSigner

    return outbox_hook(
        entity_kind=entity,
        policies={p.id: p for p in policies},
        as_of=as_of,
        links=LinkConfig(base_url=settings.public_base_url, signer=LinkSigner(
            secret=settings.link_key(), ttl_seconds=settings.link_ttl_seconds)),
        snapshot=snapshot,
        sets=sets,
        explain_limit=settings.explain_in_messages_limit,
        related=related,
    )
