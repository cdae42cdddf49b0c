"""Import awards from earlier systems into the award ledger, and read the ledger for a run.

An import file is CSV (UTF-8, header row) with the columns ``policy_id`` (政策编号),
``entity_id`` (统一社会信用代码 / 公民身份号码), ``benefit_period`` (once, 2025 or 2025-11),
``amount`` (元, exact to the fen: ``1000000`` or ``1000000.00``) and ``granted_on``
(发放日期, YYYY-MM-DD). Every line is validated; a bad line is quarantined with its line
number and the reason (Chinese), the others are imported. A line identical to an award
already on record is skipped (re-importing a file changes nothing); one that disagrees with
it is rejected. Nothing is rounded or guessed.

>>> import datetime as dt
>>> from rules.loader import bundled_library
>>> text = ("policy_id,entity_id,benefit_period,amount,granted_on\\n"
...         "gz-little-giant-reward,91440101MA5CXXXXX0,once,1000000,2026-02-12\\n"
...         "gz-little-giant-reward,91350100M000100Y43,once,1000000.001,2026-02-12\\n")
>>> checked = check_lines(text, entity_kind="enterprise", library=bundled_library(),
...                       source="a.csv", today=dt.date(2026, 3, 1))
>>> [(r.line, r.reason) for r in checked.rejects]  # doctest: +NORMALIZE_WHITESPACE
[(2, '统一社会信用代码中组织机构代码校验码错误 [uscc_org_check]'),
 (3, '金额应为以元计、精确到分的正数（如 1000000 或 1000000.00），实际为 1000000.001')]
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import Session

from profiles.idcheck import id_number_problem, uscc_problem
from rules.ledger import AwardLedger
from store import awards as award_store
from store.awards import Award
from store.cap_draws import group_draws
from store.entitlements import benefit_period
from store.money import fen_to_yuan

COLUMNS = ("policy_id", "entity_id", "benefit_period", "amount", "granted_on")
_PERIOD = re.compile(r"once|\d{4}|\d{4}-(0[1-9]|1[0-2])")
_AMOUNT = re.compile(r"\d+(\.\d{1,2})?")


@dataclass(frozen=True)
class RejectedLine:
    line: int
    reason: str
    text: str


@dataclass
class CheckedImport:
    accepted: list[Award] = field(default_factory=list)
    rejects: list[RejectedLine] = field(default_factory=list)


@dataclass(frozen=True)
class ImportReport:
    imported: int
    skipped: int  # identical to an award already on record
    rejects: tuple[RejectedLine, ...]
    complete_from: dict[str, dt.date]


def _line_problem(row: dict[str, str], *, entity_kind: str, library: Any,
                  today: dt.date) -> tuple[str | None, Award | None, str]:
    pid = (row.get("policy_id") or "").strip()
    eid = (row.get("entity_id") or "").strip()
    period = (row.get("benefit_period") or "").strip()
    amount = (row.get("amount") or "").strip()
    granted = (row.get("granted_on") or "").strip()
    if pid not in library:
        return f"政策编号应为政策库中的一项，实际为 {pid or '空'}", None, pid
    if library[pid].entity != entity_kind:
        return (f"政策 {pid} 的对象是 {library[pid].entity}，不是本次导入的 {entity_kind}",
                None, pid)
    check = uscc_problem if entity_kind == "enterprise" else id_number_problem
    problem = check(eid)
    if problem is not None:
        return problem, None, pid
    if not _PERIOD.fullmatch(period):
        return f"享受期间应为 once、年份(2025)或年月(2025-11)，实际为 {period or '空'}", None, pid
    if not _AMOUNT.fullmatch(amount) or Decimal(amount) <= 0:
        return (f"金额应为以元计、精确到分的正数（如 1000000 或 1000000.00），实际为 "
                f"{amount or '空'}", None, pid)
    try:
        when = dt.date.fromisoformat(granted)
    except ValueError:
        return f"发放日期应为 YYYY-MM-DD，实际为 {granted or '空'}", None, pid
    if when > today:
        return f"发放日期不应晚于今天（{today}），实际为 {granted}", None, pid
    try:
        fen = int(Decimal(amount) * 100)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        return f"金额无法读取：{amount}", None, pid
    return None, Award(entity_kind=entity_kind, entity_id=eid, policy_id=pid,
                       benefit_period=period, amount_fen=fen, granted_on=when,
                       source=""), pid


def check_lines(text: str, *, entity_kind: str, library: Any, source: str,
                today: dt.date) -> CheckedImport:
    """Validate every line of an import file (no database)."""
    out = CheckedImport()
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        out.rejects.append(RejectedLine(1, f"表头应包含 {', '.join(COLUMNS)}，缺少 "
                                        f"{', '.join(missing)}", ",".join(header)))
        return out
    seen: dict[tuple[str, str, str], int] = {}
    for row in reader:
        line = reader.line_num
        raw = ",".join(str(row.get(c) or "") for c in COLUMNS)
        if None in row:
            out.rejects.append(RejectedLine(line, f"列数应为 {len(header)}，实际多出 "
                                            f"{len(row[None])} 列", raw))
            continue
        row = {k.strip(): v for k, v in row.items() if k is not None}
        problem, award, _ = _line_problem(row, entity_kind=entity_kind, library=library,
                                          today=today)
        if problem is not None or award is None:
            out.rejects.append(RejectedLine(line, problem or "无法读取", raw))
            continue
        key = (award.policy_id, award.benefit_period, award.entity_id)
        if key in seen:
            out.rejects.append(RejectedLine(line, f"与第 {seen[key]} 行是同一主体、同一政策、"
                                            "同一享受期间的奖励，重复", raw))
            continue
        seen[key] = line
        out.accepted.append(Award(**{**award.__dict__, "source": f"{source}:{line}"}))
    return out


def import_awards(session: Session, text: str, *, entity_kind: str, library: Any,
                  source: str, actor: str, today: dt.date,
                  complete_from: dt.date | None = None) -> ImportReport:
    """Validate and import one file in the caller's transaction. ``complete_from`` declares
    that, together with the system's own grants, the ledger now holds every award of each
    policy named in the file granted on or after that date."""
    checked = check_lines(text, entity_kind=entity_kind, library=library, source=source,
                          today=today)
    keys = [(a.policy_id, a.benefit_period, a.entity_id) for a in checked.accepted]
    existing = award_store.existing_imports(session, entity_kind=entity_kind, keys=keys)
    fresh: list[Award] = []
    skipped = 0
    rejects = list(checked.rejects)
    for award in checked.accepted:
        old = existing.get((award.policy_id, award.benefit_period, award.entity_id))
        if old is None:
            fresh.append(award)
        elif (old.amount_fen, old.granted_on) == (award.amount_fen, award.granted_on):
            skipped += 1
        else:
            line = int(award.source.rsplit(":", 1)[1])
            rejects.append(RejectedLine(line, f"与已有记录（{old.source}）金额或发放日期不同："
                                        "已有记录不会被覆盖，请核实后更正", ""))
    award_store.add_imported(session, fresh, actor=actor)
    declared: dict[str, dt.date] = {}
    if complete_from is not None:
        for pid in sorted({a.policy_id for a in checked.accepted}):
            award_store.declare_complete(session, entity_kind=entity_kind, policy_id=pid,
                                         complete_from=complete_from, actor=actor)
            declared[pid] = complete_from
    rejects.sort(key=lambda r: r.line)
    return ImportReport(imported=len(fresh), skipped=skipped, rejects=tuple(rejects),
                        complete_from=declared)


def file_ledger(text: str, *, entity_kind: str, library: Any, source: str, today: dt.date,
                complete_from: dt.date | None = None) -> tuple[AwardLedger, CheckedImport]:
    """The ledger of one import file, without a store (``mianshen match --awards``): its
    valid lines, complete from ``complete_from`` for each policy the file names (None: a
    partial record, lookups it cannot decide stay UNKNOWN); and the checked lines."""
    checked = check_lines(text, entity_kind=entity_kind, library=library, source=source,
                          today=today)
    named = sorted({a.policy_id for a in checked.accepted})
    ledger = AwardLedger.from_records(
        ((a.entity_id, a.policy_id, a.granted_on, float(fen_to_yuan(a.amount_fen) or 0))
         for a in checked.accepted),
        complete_from={pid: complete_from for pid in named} if complete_from else {},
        policy_starts={pid: library[pid].effective_from for pid in named})
    return ledger, checked


def load_ledger(session: Session, *, entity_kind: str, library: Any,
                as_of: dt.date, entity_id: str | None = None,
                undecided: Iterable[Any] = ()) -> AwardLedger:
    """The ledger a run as of ``as_of`` matches against: awards on record (yuan from integer
    fen, exact), the declared complete periods, and each policy's start. The system's own
    grant of a policy's current benefit period is marked (``current_grant``): for that
    policy's own lookups it is this benefit, not an earlier one. ``entity_id``: one
    entity's awards only (a real-time event). ``undecided``: policies of cap groups that
    the caller does not decide (the other engine does); what their entitlements of the
    current period draw is read into ``cap_draws`` (:mod:`store.cap_draws`)."""
    rows = award_store.ledger_awards(session, entity_kind=entity_kind, entity_id=entity_id)
    others = [p for p in undecided if p.entity == entity_kind and p.cap is not None]
    policies = {p.id: p for p in [*library, *others] if p.entity == entity_kind}
    starts = {pid: p.effective_from for pid, p in policies.items()}

    def current(a: Award) -> bool:
        policy = policies.get(a.policy_id)
        if policy is None or not a.source.startswith("entitlement:"):
            return False
        period = policy.amount.period if policy.amount is not None else None
        return a.benefit_period == benefit_period(period, as_of)

    ledger = AwardLedger.from_records(
        ((a.entity_id, a.policy_id, a.granted_on, float(fen_to_yuan(a.amount_fen) or 0),
          current(a)) for a in rows),
        complete_from=award_store.coverage(session, entity_kind=entity_kind),
        policy_starts=starts)
    if not others:
        return ledger
    draws = group_draws(session, entity_kind=entity_kind, entity_id=entity_id, others={
        p.id: (p.cap.group, benefit_period(p.amount.period if p.amount else None, as_of))
        for p in others})
    return replace(ledger, cap_draws=draws)
