"""Take-up (政策兑现): what happened after a match, per policy and overall, and by district and
industry — matched, told (by channel: delivered / failed), confirmed, applied, approved, paid,
declined, objected, over budget, and the cost against the budget.

Everything is read from the store (entitlements and their events, applications, the outbox)
and grouped with the districts and industries of the latest snapshot. One row per
entitlement is built first (:func:`entitlement_frame`); every count is an aggregate of it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.services.errors import ApiError
from api.services.groups import district_label, industry_label, ordered
from api.services.population import DISTRICT_COLUMNS, ENTITY_KEYS, DataAccess
from rules.model import Policy
from store.money import fen_to_yuan, yuan_to_fen
from store.outbox import told_policies
from store.schema import applications, entitlement_events, entitlements

CHANNELS: Final = ("inbox", "sms", "email", "webhook")
COUNTS: Final = ("matched", "eligible", "undetermined", "notified", "confirmed", "applied",
                 "approved", "paid", "declined", "objections", "revoked", "over_budget")
LIVE: Final = ("new", "notified", "applied", "confirmed", "paid", "objected")  # not revoked etc.

_ENT_SCHEMA: Final = {"id": pl.Int64, "entity_kind": pl.String, "entity_id": pl.String,
                      "policy_id": pl.String, "benefit_period": pl.String,
                      "outcome": pl.String, "amount_fen": pl.Int64,
                      "status": pl.String}


def needs_public_notice(policy: Policy) -> bool:
    """Whether a policy's recipients are published in a 公示名单: money paid out by the
    government (免申即享 or 依申请 with an amount); a tax benefit taken on the return
    (申报即享) is not."""
    return policy.delivery in ("direct", "apply") and policy.amount is not None


def _entitlements(session: Session, policy_id: str | None) -> pl.DataFrame:
    e = entitlements.c
    stmt = select(e.id, e.entity_kind, e.entity_id, e.policy_id, e.benefit_period, e.outcome,
                  e.amount_fen, e.status)
    if policy_id is not None:
        stmt = stmt.where(e.policy_id == policy_id)
    rows = [tuple(r) for r in session.execute(stmt)]
    return pl.DataFrame(rows, schema=_ENT_SCHEMA, orient="row")


def _ever(session: Session, statuses: Sequence[str]) -> dict[str, set[int]]:
    ev = entitlement_events.c
    out: dict[str, set[int]] = {s: set() for s in statuses}
    for eid, to in session.execute(select(ev.entitlement_id, ev.to_status).where(
            ev.to_status.in_(list(statuses)))):
        out[str(to)].add(int(eid))
    return out


def _applications(session: Session) -> dict[int, str]:
    a = applications.c
    return {int(eid): str(st) for eid, st in session.execute(select(a.entitlement_id, a.status))}


def _messages(session: Session) -> pl.DataFrame:
    """(entity_kind, entity_id, policy_id, channel, delivered, failed) for every outbox
    message item: delivered when sent, failed when given up (dead)."""
    rows = [(kind, rid, pid, channel, status == "sent", status == "dead")
            for kind, rid, channel, status, told in told_policies(session) for pid in told]
    return pl.DataFrame(rows, schema={"entity_kind": pl.String, "entity_id": pl.String,
                                      "policy_id": pl.String, "channel": pl.String,
                                      "delivered": pl.Boolean, "failed": pl.Boolean},
                        orient="row")


def _groups(data: DataAccess, session: Session) -> pl.DataFrame:
    """(entity_kind, entity_id, district, industry, name) from the latest snapshots."""
    frames = []
    for kind in ("enterprise", "person"):
        try:
            frame = data.population(session, kind).frame
        except ApiError:
            continue
        cols = [pl.lit(kind).alias("entity_kind"),
                pl.col(ENTITY_KEYS[kind]).cast(pl.String).alias("entity_id"),
                pl.col(DISTRICT_COLUMNS[kind]).cast(pl.String).alias("district")
                if DISTRICT_COLUMNS[kind] in frame.columns else pl.lit(None, pl.String)
                .alias("district"),
                pl.col("industry_code").cast(pl.String).str.slice(0, 2).alias("industry")
                if "industry_code" in frame.columns else pl.lit(None, pl.String)
                .alias("industry"),
                pl.col("name").cast(pl.String).alias("name") if "name" in frame.columns
                else pl.lit(None, pl.String).alias("name")]
        frames.append(frame.select(cols))
    if not frames:
        return pl.DataFrame(schema={"entity_kind": pl.String, "entity_id": pl.String,
                                    "district": pl.String, "industry": pl.String,
                                    "name": pl.String})
    return pl.concat(frames)


def entitlement_frame(data: DataAccess, session: Session, *, policy_id: str | None = None
                      ) -> pl.DataFrame:
    """One row per entitlement with its take-up flags, channels, district and industry."""
    ents = _entitlements(session, policy_id)
    ever = _ever(session, ("confirmed", "objected"))
    apps = _applications(session)
    msgs = _messages(session)
    if policy_id is not None:
        msgs = msgs.filter(pl.col("policy_id") == policy_id)
    per_channel = msgs.group_by("entity_kind", "entity_id", "policy_id", "channel").agg(
        delivered=pl.col("delivered").any(), failed=pl.col("failed").any())
    flags = [
        (pl.col("outcome").is_in(["eligible", "undetermined"])
         & (pl.col("status") != "revoked")).alias("matched"),
        ((pl.col("outcome") == "eligible") & (pl.col("status") != "revoked")).alias("eligible"),
        ((pl.col("outcome") == "undetermined") & (pl.col("status") != "revoked"))
        .alias("undetermined"),
        (pl.col("id").is_in(list(ever["confirmed"])) | pl.col("status").is_in(
            ["confirmed", "paid"])).alias("confirmed"),
        pl.col("id").replace_strict(apps, default=None, return_dtype=pl.String)
        .alias("application"),
        (pl.col("status") == "paid").alias("paid"),
        (pl.col("status") == "declined").alias("declined"),
        (pl.col("id").is_in(list(ever["objected"])) | (pl.col("status") == "objected"))
        .alias("objections"),
        (pl.col("status") == "revoked").alias("revoked"),
        (pl.col("outcome") == "over_budget").alias("over_budget"),
        pl.when((pl.col("outcome") == "eligible") & pl.col("status").is_in(list(LIVE)))
        .then(pl.col("amount_fen")).otherwise(None).alias("cost"),
        pl.when(pl.col("status") == "paid").then(pl.col("amount_fen")).otherwise(None)
        .alias("paid_amount"),
    ]
    out = ents.with_columns(flags).with_columns(
        applied=pl.col("application").is_in(["submitted", "approved", "rejected"]),
        approved=pl.col("application") == "approved",
    )
    keys = ["entity_kind", "entity_id", "policy_id"]
    for channel in CHANNELS:
        one = per_channel.filter(pl.col("channel") == channel).select(
            *keys, pl.col("delivered").alias(f"{channel}_delivered"),
            pl.col("failed").alias(f"{channel}_failed"))
        out = out.join(one, on=keys, how="left").with_columns(
            pl.col(f"{channel}_delivered").fill_null(False),
            pl.col(f"{channel}_failed").fill_null(False) & ~pl.col(f"{channel}_delivered")
            .fill_null(False))
    out = out.with_columns(notified=pl.any_horizontal(
        [pl.col(f"{c}_delivered") for c in CHANNELS]))
    return out.join(_groups(data, session), on=["entity_kind", "entity_id"], how="left")


def _aggregate(frame: pl.DataFrame, by: Sequence[str]) -> pl.DataFrame:
    aggs = [pl.col(c).sum().alias(c) for c in COUNTS]
    aggs += [pl.col(f"{c}_{s}").sum().alias(f"{c}_{s}") for c in CHANNELS
             for s in ("delivered", "failed")]
    aggs += [pl.col("cost").sum().alias("cost"), pl.col("paid_amount").sum().alias("paid_amount"),
             (pl.col("cost").is_null() & pl.col("eligible") & pl.col("status").is_in(list(LIVE)))
             .sum().alias("unknown_amounts")]
    if not by:
        return frame.select(aggs)
    return frame.group_by(list(by)).agg(aggs)


@dataclass(frozen=True, kw_only=True)
class PolicyInfo:
    id: str
    title: str
    entity: str
    delivery: str
    period: str | None
    budget: float | None
    notice: bool


def _row(r: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {c: int(r.get(c) or 0) for c in COUNTS}
    out["channels"] = {c: {"delivered": int(r.get(f"{c}_delivered") or 0),
                           "failed": int(r.get(f"{c}_failed") or 0)} for c in CHANNELS}
    out["cost"] = str(fen_to_yuan(r.get("cost") or 0))  # summed in fen
    out["paid_amount"] = str(fen_to_yuan(r.get("paid_amount") or 0))
    out["unknown_amounts"] = int(r.get("unknown_amounts") or 0)
    return out


def _with_budget(row: dict[str, Any], info: PolicyInfo | None) -> dict[str, Any]:
    budget = (fen_to_yuan(yuan_to_fen(info.budget)) if info is not None
              and info.budget is not None else None)
    row["budget"] = str(budget) if budget is not None else None
    row["budget_used"] = (float(Decimal(row["cost"]) / budget) if budget else None)
    return row


def policy_infos(data: DataAccess, session: Session) -> dict[str, PolicyInfo]:
    policies, _ = data.published(session)
    return {p.id: PolicyInfo(id=p.id, title=p.title, entity=p.entity, delivery=p.delivery,
                             period=p.amount.period if p.amount else None,
                             budget=p.budget.total if p.budget else None,
                             notice=needs_public_notice(p)) for p in policies}


def takeup_report(data: DataAccess, session: Session, *, policy_id: str | None = None
                  ) -> dict[str, Any]:
    """The dashboard: overall, per policy, and by district and industry (of ``policy_id``
    when given, else of all policies)."""
    infos = policy_infos(data, session)
    frame = entitlement_frame(data, session, policy_id=policy_id)
    overall = _row(_aggregate(frame, ()).row(0, named=True)) if frame.height else _row({})
    per_policy = []
    for r in _aggregate(frame, ("policy_id",)).sort("policy_id").iter_rows(named=True):
        info = infos.get(r["policy_id"])
        row = _with_budget(_row(r), info)
        row.update(policy_id=r["policy_id"], title=info.title if info else r["policy_id"],
                   entity=info.entity if info else None,
                   delivery=info.delivery if info else None,
                   period=info.period if info else None, notice=bool(info and info.notice))
        per_policy.append(row)

    def grouped(column: str, label: Any) -> list[dict[str, Any]]:
        rows = []
        part = frame if column == "district" else frame.filter(
            pl.col("entity_kind") == "enterprise")
        if not part.height:
            return []
        for r in _aggregate(part, (column,)).iter_rows(named=True):
            row = _row(r)
            row.update(code=r[column], group=label(r[column]))
            rows.append(row)
        return ordered(rows, by=("matched", "paid"))

    info = infos.get(policy_id) if policy_id else None
    return {
        "policy_id": policy_id,
        "title": info.title if info else None,
        "overall": _with_budget(overall, info) if policy_id else overall,
        "policies": per_policy,
        "by_district": grouped("district", district_label),
        "by_industry": grouped("industry", industry_label) if (
            info is None or info.entity == "enterprise") else [],
        "notice": bool(info and info.notice),
    }


NOTICE_STATUSES: Final = ("new", "notified", "confirmed", "paid")


def notice_list(data: DataAccess, session: Session, policy_id: str) -> dict[str, Any]:
    """The public notice list (公示名单) of a policy that needs one: every entity granted the
    benefit (eligible, not revoked, declined or under objection), with personal data masked as
    the catalog marks it (a person's name and ID number); enterprises are public registrants
    and are listed by name and 统一社会信用代码."""
    from api.services.labels import period_text, zh
    from profiles.catalog import load_catalog
    from profiles.masking import mask_id, mask_name

    infos = policy_infos(data, session)
    info = infos.get(policy_id)
    if info is None:
        from api.services.errors import NotFound

        raise NotFound(f"政策 {policy_id!r} 没有已发布的版本")
    if not info.notice:
        return {"policy_id": policy_id, "title": info.title, "needed": False, "rows": []}
    personal = set(load_catalog().entity(info.entity).personal_fields)
    key = ENTITY_KEYS[info.entity]
    frame = entitlement_frame(data, session, policy_id=policy_id).filter(
        (pl.col("outcome") == "eligible") & pl.col("status").is_in(list(NOTICE_STATUSES))
    ).sort(["district", "entity_id", "benefit_period"], nulls_last=True)
    rows = []
    for i, r in enumerate(frame.iter_rows(named=True), start=1):
        name = r["name"]
        rows.append({
            "no": i,
            "name": (mask_name(name) if "name" in personal else name) or "（无名称）",
            "id": (mask_id(r["entity_id"]) if key in personal else r["entity_id"]) or "",
            "district": district_label(r["district"]),
            "period": period_text(r["benefit_period"]),
            "amount": str(fen_to_yuan(r["amount_fen"])) if r["amount_fen"] is not None else None,
            "status": zh("entitlement", r["status"]),
        })
    return {"policy_id": policy_id, "title": info.title, "needed": True, "rows": rows}
