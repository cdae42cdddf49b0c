"""Explanations: why an entity is (or is not) eligible (为什么我符合 / 差在哪), as one structure
that every reader renders — the web page, the API, ``mianshen explain`` and the messages.

The condition tree keeps its groups (以下全部满足 / 满足其一即可 / 以下条件不得满足). Each leaf has
its truth, the entity's value in words (a list-type field left empty reads 未列入名单, which is
a decided value; a true unknown reads 未知 — 需补充), the requirement in plain Chinese, the
distance in words for numbers (还差 12 人, 超出 3.2 万元), and its citation (文号 and clause).
A branch that does not matter to the outcome — the other options of a satisfied 满足其一即可 —
is 未使用, never a failure. The amount comes with how it was computed.

>>> import datetime as dt
>>> import polars as pl
>>> from rules.loader import bundled_library
>>> from profiles.derive import derive
>>> from profiles.ingest import complete
>>> lib = bundled_library()
>>> p = pl.DataFrame({"id_number": ["310104195501010018"], "birth_date": [dt.date(1955, 1, 1)],
...                   "hukou_district": ["310104"], "alive": [None]})
>>> frame = derive(complete(p, entity="person"), entity="person",
...                as_of=dt.date(2025, 10, 1)).collect()
>>> [e] = explain_entity(frame, entity="person", policies=lib.policies.values(),
...                      as_of=dt.date(2025, 10, 1), entity_id="310104195501010018",
...                      policy_id="sh-elderly-allowance", sets=lib.sets)
>>> e.outcome, [c.truth for c in e.conditions], [c.status_label for c in e.conditions]
('undetermined', [True, None, True], ['满足', '未知 — 需补充', '满足'])
>>> e.conditions[2].requirement, e.conditions[2].value_display
('年龄不低于 65 岁', '70 岁')
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import polars as pl

from matcher.evaluate import (
    SMALL_ENGINE,
    MatchError,
    Plan,
    make_plan,
    prepare_frame,
    unknown_mask_exprs,
)
from matcher.explain_text import Words
from matcher.lean import mask_names
from matcher.outcomes import OUTCOME_LABELS
from profiles.catalog import load_catalog
from profiles.relations import RelatedFrame
from rules import ast
from rules.compile_polars import CompiledPolicy
from rules.compile_related import aggregate_key
from rules.ledger import AwardLedger
from rules.model import (
    AllOf,
    AnyOf,
    Basis,
    CaseAmount,
    Condition,
    ConditionNode,
    FormulaAmount,
    NotOf,
    Policy,
    TierAmount,
)
from store.money import PERIOD_LABELS, amount_text, format_fen, yuan_to_fen

Status = Literal["met", "unmet", "unknown", "unused"]
STATUS_LABELS: dict[str, str] = {
    "met": "满足", "unmet": "不满足", "unknown": "未知 — 需补充", "unused": "未使用",
}
STATUS_MARKS: dict[str, str] = {"met": "✓", "unmet": "✗", "unknown": "?", "unused": "–"}
GROUP_TITLES: dict[str, str] = {
    "all": "以下全部满足", "any": "满足其一即可", "not": "以下条件不得满足",
}
DELIVERY_LABELS: dict[str, str] = {
    "direct": "免申即享", "notice": "申报即享", "apply": "依申请(预填申请表)",
}


class EntityNotFoundError(MatchError):
    def __init__(self, entity_id: str) -> None:
        self.entity_id = entity_id
        super().__init__(f"no profile with key {entity_id!r} in the frame")


class PolicyNotFoundError(MatchError):
    def __init__(self, policy_id: str, available: Iterable[str]) -> None:
        self.policy_id = policy_id
        names = ", ".join(sorted(available))
        super().__init__(
            f"policy {policy_id!r} is not in effect for this entity on the date; in effect: {names}"
        )


@dataclass(frozen=True, kw_only=True)
class ConditionExplanation:
    """One leaf condition for one entity. ``threshold`` is the compiled (rule-language)
    threshold, kept for tools; people read ``requirement``."""

    id: str
    label: str
    clause: str | None
    citation: str
    truth: bool | None
    status: Status
    value: object
    value_display: str
    requirement: str
    threshold: str | None
    distance: float | None
    distance_text: str | None
    fields: tuple[str, ...]

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


@dataclass(frozen=True, kw_only=True)
class GroupExplanation:
    kind: Literal["all", "any", "not"]
    label: str | None
    title: str
    truth: bool | None
    status: Status
    children: tuple[ExplanationNode, ...]

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


ExplanationNode = ConditionExplanation | GroupExplanation


@dataclass(frozen=True, kw_only=True)
class Explanation:
    entity_id: str
    policy_id: str
    policy_version: str
    title: str
    basis: str
    basis_url: str | None
    documents: tuple[Basis, ...]  # every document cited, with its URL and clause text
    outcome: str
    amount_fen: int | None
    amount_period: str | None
    amount_how: str | None
    delivery: str
    tree: ExplanationNode
    conditions: tuple[ConditionExplanation, ...]
    unknown_fields: tuple[str, ...]
    unknown_labels: tuple[str, ...]
    amount_kind: str = "cash"  # rules.model.AmountKind: how the amount is worded

    @property
    def outcome_label(self) -> str:
        return OUTCOME_LABELS.get(self.outcome, self.outcome)

    @property
    def amount_display(self) -> str:
        return amount_text(self.amount_fen, period=self.amount_period, kind=self.amount_kind)

    @property
    def gaps(self) -> tuple[ConditionExplanation, ...]:
        """Conditions that fail and matter (差在哪)."""
        return tuple(c for c in self.conditions if c.status == "unmet")

    @property
    def text(self) -> str:
        return render_text(self)


def explain_entity(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    entity: str,
    policies: Iterable[Policy],
    as_of: dt.date,
    entity_id: str,
    policy_id: str | None = None,
    sets: object | None = None,
    outcomes: pl.DataFrame | None = None,
    related: Mapping[str, RelatedFrame] | None = None,
    ledger: AwardLedger | None = None,
) -> list[Explanation]:
    """Explain every policy in effect (or only ``policy_id``) for one entity.

    ``outcomes``, when given, is the long match output over the whole population: it
    supplies the outcomes that depend on others (superseded, over_budget); without it the
    outcome comes from the conditions alone. ``related`` and ``ledger`` are what the run
    matched with (household register and employment links, award history): without them
    an aggregate or a ``received()`` lookup is UNKNOWN."""
    found = explain_many(frame, entity=entity, policies=policies, as_of=as_of,
                         entity_ids=[entity_id], policy_id=policy_id, sets=sets,
                         outcomes=outcomes, related=related, ledger=ledger)
    if not found:
        raise EntityNotFoundError(entity_id)
    return found[entity_id]


#: compiled plans a caller's cache keeps (:func:`explain_many`'s ``plans``)
PLAN_CACHE_SIZE = 64
#: up to this many entities (an event's messages, a page) are explained on
#: :data:`matcher.evaluate.SMALL_ENGINE`
SMALL_EXPLAIN = 64


def explain_many(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    entity: str,
    policies: Iterable[Policy],
    as_of: dt.date,
    entity_ids: Sequence[str],
    policy_id: str | None = None,
    sets: object | None = None,
    outcomes: pl.DataFrame | None = None,
    related: Mapping[str, RelatedFrame] | None = None,
    ledger: AwardLedger | None = None,
    plans: dict[tuple[object, ...], Plan] | None = None,
    pairs: Collection[tuple[str, str]] | None = None,
) -> dict[str, list[Explanation]]:
    """Explanations of several entities in one pass over the frame (a run explains the
    changes it announces this way); entities not in the frame are left out. ``related``
    and ``ledger`` as in :func:`explain_entity`. ``plans``: a caller's cache of the
    compiled plans (by policies, entity, date, sets and ledger), for a caller that explains
    a few entities at a time with the same policies (the event worker's messages).
    ``pairs``: explain only these (entity id, policy id) pairs (of the policies in effect;
    a message explains the benefits it tells of)."""
    policies = list(policies)
    key = (tuple(id(p) for p in policies), entity, as_of, id(sets), id(ledger))
    plan = None if plans is None else plans.get(key)
    if plan is None:
        plan = make_plan(policies, entity=entity, as_of=as_of, sets=sets, ledger=ledger)
        if plans is not None:
            if len(plans) >= PLAN_CACHE_SIZE:
                plans.pop(next(iter(plans)))  # the oldest
            plans[key] = plan
    if policy_id is not None:
        if policy_id not in plan.compiled:
            raise PolicyNotFoundError(policy_id, plan.compiled)
        compiled = {policy_id: plan.compiled[policy_id]}
    elif pairs is not None:
        chosen = {pid for _, pid in pairs}
        compiled = {pid: cp for pid, cp in plan.compiled.items() if pid in chosen}
    else:
        compiled = plan.compiled
    wanted = sorted(set(entity_ids))
    lf = prepare_frame(frame.lazy().filter(pl.col(plan.key).cast(pl.String).is_in(wanted)),
                       plan, related=related)
    names = set(lf.collect_schema().names())
    # with the outcomes given, the policy's own truth and amount are not read, nor, when
    # they name their unknown fields, the unknown-field masks: a few dozen expressions
    # fewer per policy (each costs ~0.1 ms on an event's few rows)
    decided = outcomes is not None
    named = outcomes is not None and "unknown_fields" in outcomes.columns
    columns = frozenset(names)
    exprs: list[pl.Expr] = [pl.col(plan.key).cast(pl.String).alias("__id")]
    shown: set[str] = set()
    for cp in compiled.values():
        part, read = _policy_select(plan, cp, columns, truth=not decided, masks=not named)
        exprs += part
        shown |= read
    exprs.extend(pl.col(f).alias(f"f:{f}") for f in sorted(shown))
    rows = lf.select(exprs).collect(engine=SMALL_ENGINE if len(wanted) <= SMALL_EXPLAIN
                                    else "auto")
    if rows.height == 0:
        return {}
    known: dict[tuple[str, str], tuple[str, int | None, tuple[str, ...]]] = {}
    if outcomes is not None:
        mine = outcomes.filter(pl.col("entity_id").is_in(wanted))
        for r in mine.iter_rows(named=True):
            known[(r["entity_id"], r["policy_id"])] = (
                r["outcome"], r["amount_fen"], tuple(r.get("unknown_fields") or ()))
    titles = {p.id: p.title for p in policies}
    result: dict[str, list[Explanation]] = {}
    for values in rows.iter_rows(named=True):
        eid = values["__id"]
        out = result.setdefault(eid, [])
        for pid, cp in compiled.items():
            if pairs is not None and (eid, pid) not in pairs:
                continue
            words = Words(catalog=plan.catalog, titles=titles, sets=plan_sets(plan, sets),
                          as_of=as_of, parameters=cp.policy.parameters)
            if decided:
                outcome, amount_fen, unknown = known.get((eid, pid), ("ineligible", None, ()))
            else:
                truth: bool | None = values[f"t:{pid}"]
                outcome = {True: "eligible", False: "ineligible", None: "undetermined"}[truth]
                amount_fen = yuan_to_fen(values[f"a:{pid}"])
            if not named:
                mask = [values[f"u{w}:{pid}"] for w in range(plan.mask_words)]
                unknown = tuple(mask_names(mask, plan.mask_fields[pid]))
            if outcome == "ineligible":
                amount_fen = None
            if outcome != "undetermined":
                unknown = ()
            out.append(_explanation(eid, cp.policy, plan, values, words, outcome=outcome,
                                    amount_fen=amount_fen, unknown=unknown))
    return result


def _policy_select(plan: Plan, cp: CompiledPolicy, names: frozenset[str], *, truth: bool,
                   masks: bool) -> tuple[list[pl.Expr], set[str]]:
    """What :func:`explain_many` reads of a row for one policy: per condition its truth,
    value and distance; the policy's truth and amount (``truth``) and its unknown-field
    mask words (``masks``); and the fields its conditions and amount read and the bounds
    of its aggregates, shown beside them. Built once per plan and frame columns
    (:attr:`Plan.explain_selects`): a caller keeping its plan explains a few entities at a
    time (an event worker's messages)."""
    shape = (cp.policy.id, names, truth, masks)
    cached = plan.explain_selects.get(shape)
    if cached is not None:
        return cached
    pid = cp.policy.id
    exprs: list[pl.Expr] = []
    if truth:
        exprs.append(cp.truth.alias(f"t:{pid}"))
        amount = cp.amount if cp.amount is not None else pl.lit(None, dtype=pl.Float64)
        exprs.append(amount.cast(pl.Float64).alias(f"a:{pid}"))
    if masks:
        exprs.extend(e.alias(f"u{w}:{pid}")
                     for w, e in enumerate(unknown_mask_exprs(cp, plan, set(names))))
    for cc in cp.conditions:
        cid = f"{pid}:{cc.condition.id}"
        exprs.append(cc.truth.alias(f"ct:{cid}"))
        if cc.value is not None:
            exprs.append(cc.value.alias(f"cv:{cid}"))
        if cc.distance is not None:
            exprs.append(cc.distance.cast(pl.Float64).alias(f"cd:{cid}"))
    read = {c for cols in cp.related.values() for c in (cols.lo, cols.hi) if c in names}
    read |= {f for f in _amount_fields(cp.policy) if f in names}
    for cc in cp.conditions:
        read |= {f for f in ast.fields_read(cc.condition.expr) if f in names}
    plan.explain_selects[shape] = exprs, read
    return exprs, read


def plan_sets(plan: Plan, sets: object | None) -> object | None:
    if sets is not None:
        return sets
    from rules.loader import bundled_library

    return bundled_library().sets


def _amount_fields(policy: Policy) -> set[str]:
    from rules.model import amount_exprs

    return {n for e in amount_exprs(policy.amount) for n in ast.fields_read(e)}


def _explanation(
    eid: str, policy: Policy, plan: Plan, values: Mapping[str, object], words: Words, *,
    outcome: str, amount_fen: int | None, unknown: tuple[str, ...],
) -> Explanation:
    pid = policy.id
    cp = plan.compiled[pid]
    by_id = {cc.condition.id: cc for cc in cp.conditions}
    basis = "；".join(b.cite for b in policy.bases)

    def leaf(cond: Condition, used: bool) -> ConditionExplanation:
        cc = by_id[cond.id]
        key = f"{pid}:{cond.id}"
        found = values[f"ct:{key}"]
        truth = None if found is None else bool(found)
        value = values.get(f"cv:{key}")
        raw = values.get(f"cd:{key}")
        distance = float(raw) if isinstance(raw, float | int) else None
        subject = _subject_field(cond.expr)
        read = _fields_in_order(cond.expr)
        shown = [f"{words.subject(ast.FieldRef(name=n))} "
                 f"{words.value_text(values.get(f'f:{n}'), field=n)}" for n in read]
        shown += [_aggregate_shown(agg, policy, plan, values, words)
                  for agg in ast.aggregates(cond.expr)]
        status: Status = ("unused" if not used else
                          "met" if truth is True else "unmet" if truth is False else "unknown")
        citation = policy.basis_of(cond).cite
        return ConditionExplanation(
            id=cond.id, label=cond.label, clause=cond.clause, citation=citation, truth=truth,
            status=status, value=value,
            value_display=(
                # all(rel where X): whether they do, not the count of those who do not
                {True: "满足", False: "不满足"}.get(truth, "—")  # type: ignore[arg-type]
                if isinstance(cond.expr, ast.Compare) and words.every(
                    cond.expr.left, cond.expr.op, cond.expr.right) is not None else
                "；".join(shown)
                # several values read, or only an aggregate's (配偶中…的人数 1)
                if len(shown) > 1 or (shown and subject is None and value is None) else
                words.value_text(value, field=subject, unit=words.unit_of(cond.expr.left)
                                 if isinstance(cond.expr, ast.Compare) else None)
                if (value is not None or subject)
                else "—"),
            requirement=words.requirement(cond.expr), threshold=cc.threshold,
            distance=distance,
            distance_text=words.distance_text(cond.expr, value=value, distance=distance)
            if truth is False else None,
            fields=tuple(sorted(cc.fields)),
        )

    def node_truth(node: ConditionNode) -> bool | None:
        if isinstance(node, Condition):
            found = values[f"ct:{pid}:{node.id}"]
            return None if found is None else bool(found)
        if isinstance(node, NotOf):
            inner = node_truth(node.child)
            return None if inner is None else not inner
        truths = [node_truth(c) for c in node.children]
        if isinstance(node, AllOf):
            return False if False in truths else (None if None in truths else True)
        return True if True in truths else (None if None in truths else False)

    def walk(node: ConditionNode, used: bool) -> ExplanationNode:
        if isinstance(node, Condition):
            return leaf(node, used)
        truth = node_truth(node)
        status: Status = ("unused" if not used else
                          "met" if truth is True else "unmet" if truth is False else "unknown")
        children: tuple[ExplanationNode, ...]
        if isinstance(node, NotOf):
            kind: Literal["all", "any", "not"] = "not"
            children = (walk(node.child, used),)
        elif isinstance(node, AnyOf):
            kind = "any"
            # a satisfied 满足其一即可: the options that were not needed are not used
            children = tuple(walk(c, used and (truth is not True or node_truth(c) is True))
                             for c in node.children)
        else:
            kind = "all"
            children = tuple(walk(c, used) for c in node.children)
        return GroupExplanation(kind=kind, label=node.label, title=GROUP_TITLES[kind],
                                truth=truth, status=status, children=children)

    tree = walk(policy.eligibility, True)
    leaves = tuple(_leaves(tree))
    read = {col for cc in cp.conditions for col in cc.fields}
    labels = tuple(label for f in unknown for label in _unknown_labels(f, read, plan, values))
    return Explanation(
        entity_id=eid, policy_id=pid, policy_version=policy.version, title=policy.title,
        basis=basis, basis_url=policy.basis.url, documents=policy.bases, outcome=outcome,
        amount_fen=amount_fen,
        amount_period=policy.amount.period if policy.amount else None,
        amount_how=_amount_how(policy, values, words, amount_fen=amount_fen, outcome=outcome),
        amount_kind=policy.amount.kind if policy.amount else "cash",
        delivery=policy.delivery, tree=tree, conditions=leaves, unknown_fields=unknown,
        unknown_labels=labels,
    )


def _aggregate_shown(agg: ast.Aggregate, policy: Policy, plan: Plan,
                     values: Mapping[str, object], words: Words) -> str:
    """An aggregate's current value beside the owner's fields (配偶的年龄 50): its value
    when the register decides it, the range while members' data is missing."""
    rel = load_catalog().relation(plan.catalog.name, agg.relation)
    cols = None if rel is None else \
        plan.compiled[policy.id].related.get(aggregate_key(rel, agg, policy))
    lo = None if cols is None else values.get(f"f:{cols.lo}")
    hi = None if cols is None else values.get(f"f:{cols.hi}")
    field = agg.value.name if isinstance(agg.value, ast.FieldRef) and agg.func != "count" \
        else None
    member = words.member_words(agg) if field else None

    def text(v: object) -> str:
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        return member.value_text(v, field=field) if member is not None else \
            words.value_text(v, field=None)

    if lo is None and hi is None:
        value = "未知 — 需补充"
    elif lo is not None and lo == hi:
        value = text(lo)
    else:
        low = text(lo) if lo is not None else "未知"
        high = text(hi) if hi is not None else "未知"
        value = f"{low} 至 {high}（部分成员数据未知）"
    return f"{words.subject(agg)} {value}"


def _leaves(node: ExplanationNode) -> Iterable[ConditionExplanation]:
    if isinstance(node, ConditionExplanation):
        yield node
        return
    for child in node.children:
        yield from _leaves(child)


def _unknown_labels(name: str, read: Iterable[str], plan: Plan,
                    values: Mapping[str, object]) -> tuple[str, ...]:
    """How an unknown field reads in 需补充: a yearly field as the years the conditions
    ``read`` and the row lacks (营业收入(2024年度)), any other field as its label."""
    if name not in plan.catalog:
        return (name,)
    years = sorted({col for col in read if col in plan.catalog
                    and plan.catalog.field(col).series == name
                    and values.get(f"f:{col}") is None})
    if not years:
        return (plan.catalog.field(name).label,)
    return tuple(plan.catalog.field(col).label for col in years)


def _fields_in_order(expr: ast.Expr) -> list[str]:
    """The fields a condition reads, in the order they are written."""
    return list(dict.fromkeys(n.name for n in expr.walk() if isinstance(n, ast.FieldRef)))


def _subject_field(expr: ast.Expr) -> str | None:
    """The field a condition is about, for how its value reads (None for several)."""
    found = sorted(ast.fields_read(expr))
    return found[0] if len(found) == 1 else None


def _amount_how(policy: Policy, values: Mapping[str, object], words: Words, *,
                amount_fen: int | None, outcome: str) -> str | None:
    """How the amount was computed, in words, with the entity's figures."""
    if policy.amount is None:
        return None
    label = policy.amount.label or "按政策规定的标准"
    rule = policy.amount.rule
    period = PERIOD_LABELS.get(policy.amount.period, "")
    if outcome == "ineligible":
        return f"{label}（{period}）；不符合条件，无金额"
    if isinstance(rule, FormulaAmount):
        figures = []
        for name in sorted(ast.fields_read(rule.expr)):
            shown = words.value_text(values.get(f"f:{name}"), field=name)
            figures.append(f"{words.subject(ast.FieldRef(name=name))} {shown}")
        detail = f"计算：{words.subject(rule.expr)}" + (
            f"（{'，'.join(figures)}）" if figures else "")
    elif isinstance(rule, TierAmount):
        by_name = rule.by.name if isinstance(rule.by, ast.FieldRef) else None
        shown = words.value_text(values.get(f"f:{by_name}"), field=by_name) if by_name else ""
        detail = f"按{words.subject(rule.by)}分档" + (f"（{shown}）" if shown else "")
    elif isinstance(rule, CaseAmount):
        detail = "按情形确定"
    else:
        detail = ""
    result = (format_fen(amount_fen) if amount_fen is not None
              else "待核定（所需数据缺失）")
    return f"{label}：{detail}，{period} {result}".replace("：，", "：")


def render_text(explanation: Explanation) -> str:
    """The explanation as readable Chinese text (为什么我符合 / 差在哪): the same content as
    the page, the API and the messages."""
    e = explanation
    lines = [
        f"{e.title}（{e.policy_id}，版本 {e.policy_version}）",
        f"  依据：{e.basis}",
        f"  结果：{e.outcome_label} · 兑现方式：{DELIVERY_LABELS.get(e.delivery, e.delivery)}",
    ]
    if e.amount_how:
        lines.append(f"  金额：{e.amount_how}")
    lines.append("  条件：")
    lines.extend(_tree_lines(e.tree, depth=2))
    if e.unknown_labels:
        lines.append(f"  需补充：{'、'.join(e.unknown_labels)}")
    lines.append("  依据文件：")
    lines.extend(f"    {document_line(b)}" for b in e.documents)
    return "\n".join(lines)


def document_line(basis: Basis) -> str:
    """One cited document: 文号, title, clause and the URL of the text read.

    >>> document_line(Basis(document="国发〔2015〕52号", title="关于全面建立困难残疾人生活补贴和"
    ...               "重度残疾人护理补贴制度的意见", url="https://www.gov.cn/x.htm"))
    '国发〔2015〕52号《关于全面建立困难残疾人生活补贴和重度残疾人护理补贴制度的意见》 原文：https://www.gov.cn/x.htm'
    """
    head = " ".join(x for x in (basis.document, f"《{basis.title}》" if basis.title else None,
                                basis.clause) if x).replace(" 《", "《")
    return head + (f" 原文：{basis.url}" if basis.url else "")


def _tree_lines(node: ExplanationNode, *, depth: int) -> list[str]:
    pad = "  " * depth
    mark = STATUS_MARKS[node.status]
    if isinstance(node, GroupExplanation):
        head = f"{pad}{mark} {node.label + '：' if node.label else ''}{node.title}"
        if node.status == "unused":
            head += "（未使用）"
        out = [head]
        for child in node.children:
            out.extend(_tree_lines(child, depth=depth + 1))
        return out
    c = node
    parts = [f"{pad}{mark} {c.status_label}  {c.label}", f"要求：{c.requirement}",
             f"当前：{c.value_display}"]
    if c.distance_text:
        parts.append(c.distance_text)
    parts.append(f"依据：{c.citation}")
    if c.clause:
        parts.append(f"条款原文：{c.clause}")
    return ["  ".join(parts)]
