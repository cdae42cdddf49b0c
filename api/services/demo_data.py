"""Demo data for ``mianshen serve`` on an empty database: one account per role, the bundled
library imported by the demo officer and approved one by one by the demo reviewer (two
people, both in the audit log), a synthetic population in the data directory, one run per
entity kind (the enterprise and the citizen accounts are chosen among those with
entitlements)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, func, select

from api.services.accounts import AccountSpec, count_accounts, upsert_account
from api.settings import Settings
from store.db import transaction
from store.schema import entitlements, policy_versions

# Every bundled policy is in effect on this date (see api.demo).
DEMO_AS_OF = dt.date(2025, 10, 1)
Say = Callable[[str], None]


@dataclass(frozen=True, kw_only=True)
class DemoAccount:
    user_id: str
    password: str
    role: str
    entity_id: str | None = None


def store_is_empty(engine: Engine) -> bool:
    """No policy version and no account yet (the database is migrated)."""
    with transaction(engine, write=False) as session:
        versions = session.execute(select(func.count()).select_from(policy_versions)).scalar_one()
        accounts = count_accounts(session)
    return int(versions) == 0 and accounts == 0


def _pick(engine: Engine, entity_kind: str) -> str | None:
    """An entity with an eligible direct benefit and, preferably, an undetermined one too."""
    with transaction(engine, write=False) as session:
        rows = session.execute(
            select(entitlements.c.entity_id, entitlements.c.outcome, entitlements.c.delivery)
            .where(entitlements.c.entity_kind == entity_kind)
            .order_by(entitlements.c.entity_id)
        ).all()
    kinds: dict[str, set[str]] = {}
    for entity_id, outcome, delivery in rows:
        kinds.setdefault(entity_id, set()).add(f"{outcome}:{delivery}")
    best = sorted(kinds, key=lambda e: (
        "eligible:direct" not in kinds[e], not any(k.startswith("undetermined") for k in kinds[e]),
        -len(kinds[e]), e))
    return best[0] if best else None


STAFF = (
    DemoAccount(user_id="officer", password="officer-demo", role="officer"),
    DemoAccount(user_id="reviewer", password="reviewer-demo", role="reviewer"),
    DemoAccount(user_id="admin", password="admin-demo", role="admin"),
)


def demo_accounts(engine: Engine) -> list[DemoAccount]:
    enterprise = _pick(engine, "enterprise")
    person = _pick(engine, "person")
    out = list(STAFF)
    if enterprise:
        out.append(DemoAccount(user_id="enterprise", password="enterprise-demo",
                               role="enterprise", entity_id=enterprise))
    if person:
        out.append(DemoAccount(user_id="citizen", password="citizen-demo", role="citizen",
                               entity_id=person))
    return out


DISPLAY = {"officer": "演示政策员", "reviewer": "演示审核员", "admin": "演示管理员",
           "enterprise": "演示企业", "citizen": "演示市民"}


def create_accounts(engine: Engine, accounts: list[DemoAccount]) -> None:
    with transaction(engine) as session:
        for a in accounts:
            upsert_account(session, AccountSpec(user_id=a.user_id, display_name=DISPLAY[a.role],
                                                role=a.role, password=a.password,
                                                entity_id=a.entity_id))


def publish_library(engine: Engine, *, say: Say) -> int:
    """The bundled library, imported by the demo officer and approved by the demo reviewer:
    two distinct accounts, each step in the audit log. Returns how many were published."""
    from api.services.library_import import approve_versions, import_library
    from store import audit

    imported = import_library(engine, author="officer")
    published = approve_versions(engine, imported.created, reviewer="reviewer",
                                 reason="演示：逐项核对条件、金额与原文一致")
    with transaction(engine, write=False) as session:
        entries = len(audit.entries(session))
    say(f"政策库：演示政策员 officer 导入 {len(imported.in_review)} 项政策（待审核）"
        f"{f'及 {len(imported.unverified)} 项“待核”草稿（不发布）' if imported.unverified else ''}"
        "，演示审核员 "
        f"reviewer 逐项审核发布 {len(published)} 项（四眼原则：导入人与审核人不同）；"
        f"以上每一步都记入审计日志（共 {entries} 条，可用 mianshen audit verify 校验）。")
    return len(published)


def import_demo_awards(engine: Engine, sources: Path, *, say: Say) -> int:
    """Import the synthetic award history (:mod:`profiles.synth.awards`) into the award
    ledger and declare the ledger complete from each start of the policies that look it up:
    an earlier system paid what the file lists, this one pays every later award itself.
    Returns the number imported."""
    from matcher.award_import import import_awards
    from profiles.synth.awards import AWARDS_FILE
    from rules.loader import bundled_library
    from store import awards as award_store

    library = bundled_library()
    path = sources / AWARDS_FILE
    looked_up = sorted((p for p in library if p.ledger_lookups or p.cap), key=lambda p: p.id)
    with transaction(engine) as session:
        imported, rejects = 0, 0
        if path.exists():
            report = import_awards(session, path.read_text(encoding="utf-8"),
                                   entity_kind="enterprise", library=library,
                                   source=path.name, actor="officer", today=dt.date.today())
            imported, rejects = report.imported, len(report.rejects)
        for policy in looked_up:
            award_store.declare_complete(session, entity_kind=policy.entity,
                                         policy_id=policy.id,
                                         complete_from=policy.effective_from, actor="officer")
    message = f"奖励台账：导入以往系统已发放的奖励 {imported} 笔"
    if rejects:
        message += f"，隔离 {rejects} 行"
    if looked_up:
        message += (f"；{'、'.join(p.title for p in looked_up)} 的发放记录自政策生效日起完整")
    say(message)
    return imported


def load_demo(settings: Settings, engine: Engine, *, enterprises: int, persons: int,
              seed: int, say: Say) -> list[DemoAccount]:
    """Fill an empty store with demo data; returns the demo accounts. ``engine`` must carry
    the audit seal (:func:`api.storage.open_engine`)."""
    from api.scheduler import prepare_store, run_pipeline
    from profiles.synth import synthesize

    prepare_store(engine)
    create_accounts(engine, list(STAFF))
    publish_library(engine, say=say)
    sources = settings.demo_sources_dir
    say(f"合成演示人群：企业 {enterprises}，个人 {persons} …")
    synthesize(sources, enterprises=enterprises, persons=persons, seed=seed)
    import_demo_awards(engine, sources, say=say)
    say(f"构建画像并匹配（评估日 {DEMO_AS_OF}）…")
    run_pipeline(settings, engine=engine, sources_dir=sources, as_of=DEMO_AS_OF,
                 progress=lambda _stage, message: say(message))
    accounts = demo_accounts(engine)
    create_accounts(engine, accounts)
    return accounts
