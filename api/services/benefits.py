"""Entitlements as the entity sees them: one card per policy (the current period and the
history of past ones), one-click confirmation (carried over to later periods), and the
pre-filled application with its submission and decision (秒批 where the rules decide it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal
from api.models.benefits import (
    ApplicationPublic,
    BenefitDetailPublic,
    BenefitPublic,
    EventPublic,
    PolicyCard,
)
from api.services.errors import Conflict, NotFound
from api.services.population import DataAccess
from matcher.outcomes import OUTCOME_LABELS
from notifier.planning import period_label
from store import applications as application_store
from store import confirmations
from store import entitlements as entitlement_store
from store.entitlements import EntitlementRecord
from store.money import amount_text, format_fen, yuan_to_fen
from store.schema import policies as policies_table
from store.types import utcnow

STATUS_LABELS = {
    "new": "待处理", "notified": "已通知", "applied": "申请审核中", "confirmed": "已确认",
    "paid": "已兑现", "declined": "已放弃", "objected": "异议处理中", "revoked": "已撤销",
    "rejected": "申请未通过",
}
DELIVERY_LABELS = {"direct": "免申即享", "notice": "申报即享", "apply": "依申请"}
APPLICATION_LABELS = {"draft": "待填写", "submitted": "已提交，待审核", "approved": "已通过",
                      "rejected": "未通过", "withdrawn": "已撤回"}
ACTOR_LABELS = {"run": "系统比对", "carry-over": "系统（沿用确认）", "秒批": "系统秒批",
                "link": "本人（一键链接）"}
INSTANT = "秒批"


REVOKED_OUTCOME_LABEL = "不再符合"
REVOKED_AMOUNT = "已撤销（原为{}）"


def titles(session: Session) -> dict[str, str]:
    rows = session.execute(select(policies_table.c.id, policies_table.c.title))
    return {r.id: r.title for r in rows}


def benefit_public(e: EntitlementRecord, names: Mapping[str, str]) -> BenefitPublic:
    """An entitlement as pages and the API show it; its amount is worded by the kind the
    run stored on it (:mod:`api.services.amount_kinds`)."""
    kind = e.amount_kind
    return BenefitPublic(
        id=e.id, entity_kind=e.entity_kind, entity_id=e.entity_id, policy_id=e.policy_id,
        policy_title=names.get(e.policy_id, e.policy_id), benefit_period=e.benefit_period,
        period_label=period_label(e.benefit_period),
        policy_version=e.policy_version, outcome=e.outcome,
        # a revoked benefit's last outcome is the one it no longer meets
        outcome_label=(REVOKED_OUTCOME_LABEL if e.status == "revoked"
                       else OUTCOME_LABELS.get(e.outcome, e.outcome)),
        amount_fen=e.amount_fen,
        amount_display=amount_shown(e), amount_kind=kind,
        amount_period=e.amount_period, delivery=e.delivery,
        delivery_label=DELIVERY_LABELS.get(e.delivery, e.delivery),
        unknown_fields=list(e.unknown_fields or []), status=e.status,
        status_label=STATUS_LABELS.get(e.status, e.status), reason=e.reason,
        last_run_id=e.last_run_id, updated_at=e.updated_at,
        can_confirm=can_confirm(e), needs_application=needs_application(e),
    )


def amount_shown(e: EntitlementRecord) -> str:
    """A benefit's amount as its card and page headline it: a revoked benefit is no longer
    paid or deducted, so its amount reads as what it was, never as what the entity gets.

    >>> from types import SimpleNamespace as E
    >>> amount_shown(E(amount_fen=150000, amount_period="month", amount_kind="deduction",
    ...                status="revoked"))
    '已撤销（原为可在个税中扣除 1,500.00 元/月）'
    >>> amount_shown(E(amount_fen=None, amount_period="year", amount_kind="cash",
    ...                status="revoked"))
    '已撤销'
    >>> amount_shown(E(amount_fen=15000, amount_period="month", amount_kind="cash",
    ...                status="confirmed"))
    '150.00 元/月'
    """
    text = amount_text(e.amount_fen, period=e.amount_period, kind=e.amount_kind)
    if e.status != "revoked":
        return text
    return REVOKED_AMOUNT.format(text) if e.amount_fen is not None else STATUS_LABELS["revoked"]


def can_confirm(e: EntitlementRecord) -> bool:
    return e.outcome == "eligible" and e.delivery != "apply" and e.status in ("new", "notified")


def needs_application(e: EntitlementRecord) -> bool:
    return (e.outcome == "undetermined" or e.delivery == "apply") and e.status in (
        "new", "notified", "applied", "confirmed", "rejected")


def _event_text(kind: str, detail: Mapping[str, Any] | None, from_status: str | None,
                to_status: str | None) -> str:
    if kind == "application":
        return str((detail or {}).get("text") or "提交申请")
    if kind in ("updated", "reinstated"):
        changed = detail or {}
        parts = []
        if "amount_fen" in changed:
            parts.append(f"金额 {format_fen(changed['amount_fen'].get('from'))} → "
                         f"{format_fen(changed['amount_fen'].get('to'))}")
        if "outcome" in changed:
            parts.append(f"结果 {OUTCOME_LABELS.get(changed['outcome'].get('from'), '')} → "
                         f"{OUTCOME_LABELS.get(changed['outcome'].get('to'), '')}")
        head = "重新符合条件" if kind == "reinstated" else "数据更新"
        return head + ("：" + "，".join(parts) if parts else "")
    return (f"{STATUS_LABELS.get(from_status or '', from_status or '')} → "
            f"{STATUS_LABELS.get(to_status or '', to_status or '')}")


def benefit_detail(session: Session, e: EntitlementRecord) -> BenefitDetailPublic:
    events = [
        EventPublic(at=ev.at, actor=ACTOR_LABELS.get(ev.actor, ev.actor), kind=ev.kind,
                    from_status=ev.from_status, to_status=ev.to_status, reason=ev.reason,
                    text=_event_text(ev.kind, ev.detail, ev.from_status, ev.to_status))
        for ev in entitlement_store.events(session, e.id)
    ]
    standing = confirmations.get(session, e.entity_kind, e.entity_id, e.policy_id)
    return BenefitDetailPublic(
        **benefit_public(e, titles(session)).model_dump(), events=events,
        standing_account=_mask_account(standing.account) if standing else None,
        standing_confirmed=standing is not None,
    )


def _mask_account(account: str | None) -> str | None:
    if not account:
        return None
    return "*" * max(len(account) - 4, 2) + account[-4:]


def policy_cards(session: Session, *, entity_kind: str, entity_id: str) -> list[PolicyCard]:
    """One card per policy: the newest benefit period is the current one, the older ones its
    history (a monthly allowance shows this month and the months before, not a card each)."""
    names = titles(session)
    by_policy: dict[str, list[EntitlementRecord]] = {}
    for e in entitlement_store.list_entitlements(session, entity_kind=entity_kind,
                                                 entity_id=entity_id):
        by_policy.setdefault(e.policy_id, []).append(e)
    cards = []
    for _pid, items in sorted(by_policy.items(), key=lambda kv: names.get(kv[0], kv[0])):
        items.sort(key=lambda e: e.benefit_period, reverse=True)
        current, *history = items
        cards.append(PolicyCard(current=benefit_public(current, names),
                                history=[benefit_public(h, names) for h in history]))
    return cards


def own_entitlement(
    session: Session, principal: Principal, entitlement_id: int
) -> EntitlementRecord:
    """The entitlement when it belongs to the principal's entity; 404 otherwise (another
    entity's id is indistinguishable from a missing one)."""
    try:
        e = entitlement_store.get(session, entitlement_id)
    except LookupError:
        raise NotFound("没有这项待遇") from None
    if e.entity_kind != principal.entity_kind or e.entity_id != principal.entity_id:
        raise NotFound("没有这项待遇")
    return e


def confirm(session: Session, e: EntitlementRecord, *, actor: str,
            account: str | None = None) -> EntitlementRecord:
    """一键确认: the benefit is taken (and the account to pay into noted); the confirmation
    carries over to the later periods of the same policy until the recipient changes it."""
    if e.outcome != "eligible":
        raise Conflict("这项待遇尚待确认资格，请先填写申请表")
    if e.delivery == "apply":
        raise Conflict("这项待遇依法须提交申请，请填写预填申请表")
    if account is not None and account.strip() and not account.strip().replace(" ", "").isdigit():
        raise Conflict(f"收款账户应为银行卡号（数字），收到“{account.strip()[:32]}”")
    updated = entitlement_store.transition(session, e.id, "confirmed", actor=actor)
    confirmations.record(
        session, entity_kind=e.entity_kind, entity_id=e.entity_id, policy_id=e.policy_id,
        entitlement_id=e.id, account=(account or "").replace(" ", "") or None, actor=actor,
        now=utcnow(),
    )
    return updated


def stop_carry_over(session: Session, e: EntitlementRecord) -> None:
    confirmations.withdraw(session, entity_kind=e.entity_kind, entity_id=e.entity_id,
                           policy_id=e.policy_id)


def application_public(a: application_store.ApplicationRecord) -> ApplicationPublic:
    return ApplicationPublic(id=a.id, entitlement_id=a.entitlement_id, status=a.status,
                             status_label=APPLICATION_LABELS.get(a.status, a.status),
                             prefilled=a.prefilled, missing_fields=list(a.missing_fields),
                             answers=a.answers, reason=a.reason, submitted_at=a.submitted_at,
                             decided_at=a.decided_at, decided_by=a.decided_by)


def open_application(session: Session, data: DataAccess, e: EntitlementRecord, *,
                     actor: str) -> application_store.ApplicationRecord:
    """The entitlement's application, pre-filled from the latest snapshot on first open."""
    found = application_store.for_entitlement(session, e.id)
    if found is not None:
        return found
    if e.outcome != "undetermined" and e.delivery != "apply":
        raise Conflict("这项待遇无需申请（免申即享或申报即享）")
    prefilled = _prefilled(data, session, e, names=titles(session))
    missing = [str(f["name"]) for f in prefilled["to_fill"]]
    return application_store.create(session, entitlement_id=e.id, prefilled=prefilled,
                                    missing_fields=missing, actor=actor)


def profile_row(data: DataAccess, session: Session, e: EntitlementRecord) -> dict[str, Any]:
    import polars as pl

    population = data.population(session, e.entity_kind)
    rows = population.frame.filter(pl.col(population.key).cast(pl.String) == e.entity_id)
    return rows.row(0, named=True) if rows.height else {}


def _prefilled(data: DataAccess, session: Session, e: EntitlementRecord, *,
               names: dict[str, str]) -> dict[str, Any]:
    from api.delivery import field_infos
    from notifier.application import build_application
    from notifier.model import EntitlementChange
    from rules.years import fields_read_at

    population = data.population(session, e.entity_kind)
    policies, _ = data.policies_for(session, e.entity_kind)
    policy = next((p for p in policies if p.id == e.policy_id), None)
    # a yearly field by the years the policy reads: the application asks for the missing year
    names_read = (sorted(fields_read_at(policy, population.run.as_of)) if policy
                  else list(e.unknown_fields or []))
    change = EntitlementChange(
        entity_kind=e.entity_kind, entity_id=e.entity_id, policy_id=e.policy_id,
        policy_version=e.policy_version, policy_title=names.get(e.policy_id, e.policy_id),
        benefit_period=e.benefit_period, change="new", outcome=e.outcome,
        amount_fen=e.amount_fen, amount_period=e.amount_period,  # type: ignore[arg-type]
        delivery=e.delivery,  # type: ignore[arg-type]
        unknown_fields=tuple(e.unknown_fields or ()), entitlement_id=e.id,
        amount_kind=e.amount_kind,
    )
    return build_application(change, profile_row(data, session, e),
                             field_infos(e.entity_kind, names_read,
                                         policies=[policy] if policy else []),
                             as_of=population.run.as_of).to_json()


def to_fill_fields(app: application_store.ApplicationRecord) -> dict[str, Any]:
    """The fields the application asks for, by name: catalog fields, and the policy's
    declared conditions as the form asked them (name, label, type; rules.declared)."""
    from api.delivery import field_infos
    from notifier.model import FieldInfo

    kind = str(app.prefilled.get("entity_kind") or "enterprise")
    out: dict[str, Any] = {f.name: f for f in field_infos(kind, app.missing_fields)}
    for asked in app.prefilled.get("to_fill", []):
        name = asked.get("name")
        if name in app.missing_fields and name not in out and asked.get("reason") == "declared":
            out[name] = FieldInfo(name=name, label=asked.get("label") or name, kind="declared",
                                  type=asked.get("type") or "bool", unit=asked.get("unit"),
                                  unit_label=asked.get("unit_label"))
    return out


def instant_decision(session: Session, data: DataAccess, e: EntitlementRecord,
                     answers: Mapping[str, object]) -> tuple[str, int | None, str | None]:
    """The same rules as the nightly run, on the entity's profile completed by the answers:
    (outcome, amount in fen, the failed conditions in words)."""
    import polars as pl

    from api.services.population import fill_declared
    from api.services.simulate import match_context
    from matcher.explain import explain_entity
    from store.applications import declared_answers

    population = data.population(session, e.entity_kind)
    row = population.frame.filter(pl.col(population.key).cast(pl.String) == e.entity_id)
    if row.height == 0:
        return "undetermined", None, None
    known = declared_answers(session, entity_kind=e.entity_kind).get(e.entity_id, {})
    frame = fill_declared(row, {e.entity_id: {**known, **answers}}, entity=e.entity_kind,
                          as_of=population.run.as_of)
    policies, sets = data.policies_for(session, e.entity_kind)
    # the award ledger and the related entities, as the nightly run matches with them
    extra = match_context(data, session, population, population.frame, policies,
                          as_of=population.run.as_of)
    [explanation] = explain_entity(frame, entity=e.entity_kind, policies=policies,
                                   as_of=population.run.as_of, entity_id=e.entity_id,
                                   policy_id=e.policy_id, sets=sets, **extra)
    failed = "、".join(c.label for c in explanation.gaps) or None
    return explanation.outcome, explanation.amount_fen, failed


def submit_application(
    session: Session, data: DataAccess, e: EntitlementRecord,
    app: application_store.ApplicationRecord, answers: Mapping[str, object], *, actor: str,
) -> tuple[application_store.ApplicationRecord, EntitlementRecord, str | None]:
    """Submit checked answers: the form becomes read-only, the submission enters the
    benefit's 处理记录 and the reviewers' queue — unless the answers are all the policy was
    waiting for and it needs no human review by law (免申/申报即享 policies): then the same
    rules decide at once (秒批). Returns the application, the entitlement and the decision
    taken at once (approved / rejected) or None."""
    if app.status != "draft":
        raise Conflict(f"申请已{APPLICATION_LABELS.get(app.status, app.status)}，不能再修改")
    app = application_store.save_answers(session, app.id, dict(answers), actor=actor)
    app = application_store.transition(session, app.id, "submitted", actor=actor)
    asked = {f["name"]: f for f in app.prefilled.get("to_fill", [])}

    def shown(name: str, value: object) -> str:
        f = asked.get(name, {})
        if isinstance(value, bool):
            return "是" if value else "否"
        unit = f.get("unit_label")
        if f.get("unit") == "yuan" and isinstance(value, int | float):
            return format_fen(yuan_to_fen(value))
        return f"{value} {unit}" if unit and f.get("unit") != "ratio" else str(value)

    summary = "；".join(f"{asked.get(k, {}).get('label', k)}：{shown(k, v)}"
                       for k, v in answers.items())
    entitlement_store.add_event(session, e.id, kind="application", actor=actor,
                                detail={"application_id": app.id,
                                        "text": f"提交申请（{summary}）" if summary
                                        else "提交申请"})
    if e.status in ("new", "notified"):
        e = entitlement_store.transition(session, e.id, "applied", actor=actor)
    outcome, amount_fen, failed = instant_decision(session, data, e, answers)
    if e.delivery != "apply" and outcome == "eligible":
        app, e = decide_application(session, app, e, approve=True, actor=INSTANT,
                                    reason="您填写的信息满足全部条件，系统即时审批通过",
                                    outcome="eligible", amount_fen=amount_fen)
        return app, e, "approved"
    if outcome == "ineligible":
        app, e = decide_application(session, app, e, approve=False, actor=INSTANT,
                                    reason=f"根据您填写的信息，不满足：{failed or '政策条件'}",
                                    outcome=None, amount_fen=None)
        return app, e, "rejected"
    return app, e, None


def decide_application(
    session: Session, app: application_store.ApplicationRecord, e: EntitlementRecord, *,
    approve: bool, actor: str, reason: str | None, outcome: str | None,
    amount_fen: int | None,
) -> tuple[application_store.ApplicationRecord, EntitlementRecord]:
    """Approve (the benefit proceeds by its delivery mode: confirmed, to be paid or applied)
    or reject with the reason; both are recorded in the 处理记录."""
    if app.status != "submitted":
        raise Conflict(f"申请状态为{APPLICATION_LABELS.get(app.status, app.status)}，不能审批")
    if not approve and not reason:
        raise Conflict("不予通过须说明理由")
    app = application_store.transition(session, app.id, "approved" if approve else "rejected",
                                       actor=actor, reason=reason)
    if e.status in ("new", "notified"):
        e = entitlement_store.transition(session, e.id, "applied", actor=actor)
    e = entitlement_store.decide(
        session, e.id, to="confirmed" if approve else "rejected",
        outcome=(outcome or "eligible") if approve else None,  # type: ignore[arg-type]
        amount_fen=amount_fen if approve else None, actor=actor,
        reason=reason if not approve else (reason or "申请审核通过"),
    )
    if approve:  # applied for once: the later periods of a recurring benefit carry it over
        confirmations.record(session, entity_kind=e.entity_kind, entity_id=e.entity_id,
                             policy_id=e.policy_id, entitlement_id=e.id, account=None,
                             actor=actor, now=utcnow())
    return app, e
