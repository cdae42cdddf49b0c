"""The coverage table of a policy library (docs/library.md, ``mianshen rules table`` and the
officer's 政策库覆盖 page): per policy its id, title, entity, region, 文号, URL, effective
period (已到期 once ended on the date given), delivery mode, amount kind, the data it needs
by source department, whether each URL read is the issuing authority's own site (官方) or a
reproduction elsewhere (转载), and whether it is verified (已核) or a draft marked 待核.

>>> import datetime as dt
>>> from rules.loader import bundled_library
>>> rows = coverage_rows(bundled_library(), as_of=dt.date(2026, 11, 30))
>>> row = next(r for r in rows if r.id == "cit-small-low-profit")
>>> row.region, row.verification, row.expired
('全国', '已核', False)
>>> "税务" in row.data
True
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from profiles.catalog import Catalog, load_catalog
from rules import ast
from rules.declared import for_policies
from rules.model import (
    ENTITY_LABELS,
    CaseAmount,
    FormulaAmount,
    NotOf,
    Policy,
    TierAmount,
    leaves,
)

DELIVERY_WORDS = {"direct": "免申即享", "notice": "申报即享", "apply": "依申请"}
PERIOD_WORDS = {"once": "一次性", "month": "每月", "year": "每年"}
DECLARED = "本人申报"
DERIVED = "派生"


@dataclass(frozen=True, kw_only=True)
class CoverageRow:
    id: str
    title: str
    entity: str
    region: str
    documents: str  # 文号 (or title of a text without one), several joined by ；
    urls: tuple[str, ...]
    sources: tuple[str, ...]  # per URL: 官方 (a government site) or 转载
    period: str
    expired: bool
    delivery: str
    amount: str
    data: str  # 部门: 字段、字段；部门: …
    verification: str


OFFICIAL = "官方"
REPRODUCED = "转载"


def source_kind(url: str) -> str:
    """官方 when the URL is on a government site (a host under ``gov.cn``), else 转载.

    >>> source_kind("https://www.beijing.gov.cn/fuwu/x.html"), source_kind("http://a.com/gov.cn")
    ('官方', '转载')
    """
    host = urlsplit(url).hostname or ""
    return OFFICIAL if host == "gov.cn" or host.endswith(".gov.cn") else REPRODUCED


def _regions(policy: Policy) -> list[str]:
    """Region names a policy's conditions require (not those under 不得满足)."""
    found: list[str] = []

    def walk(node: object, negated: bool) -> None:
        if isinstance(node, NotOf):
            walk(node.child, not negated)
            return
        children = getattr(node, "children", None)
        if children is not None:
            for child in children:
                walk(child, negated)
            return
        if negated:
            return
        expr = getattr(node, "expr", None)
        if expr is None:
            return
        for sub in expr.walk():
            if isinstance(sub, ast.RegionRef) and sub.name not in found:
                found.append(sub.name)

    walk(policy.eligibility, False)
    return found


def _amount_kind(policy: Policy) -> str:
    if policy.amount is None:
        return "不涉及金额"
    rule = policy.amount.rule
    shape = ("公式" if isinstance(rule, FormulaAmount) else "分档" if isinstance(rule, TierAmount)
             else "按情形" if isinstance(rule, CaseAmount) else "")
    label = f"（{policy.amount.label}）" if policy.amount.label else ""
    return f"{shape}·{PERIOD_WORDS[policy.amount.period]}{label}"


def _data_by_department(policy: Policy, catalog: Catalog) -> str:
    entity = for_policies(catalog.entity(policy.entity), [policy])  # with its declared ones
    by_dept: dict[str, list[str]] = {}

    def add(name: str) -> None:
        if name not in entity:
            return
        f = entity.field(name)
        if f.kind == "derived" and f.inputs:
            for source in f.inputs:
                add(source)
            return
        dept = DECLARED if f.kind == "declared" else (f.source or DERIVED)
        if f.label not in by_dept.setdefault(dept, []):
            by_dept[dept].append(f.label)

    names: list[str] = []
    for cond in leaves(policy.eligibility):
        names += [n.name for n in cond.expr.walk() if isinstance(n, ast.FieldRef)]
    names += sorted(policy.fields_read - set(names))
    for name in dict.fromkeys(names):
        add(name)
    return "；".join(f"{dept}：{'、'.join(labels)}" for dept, labels in sorted(by_dept.items()))


def coverage_rows(policies: Iterable[Policy], *, as_of: dt.date,
                  catalog: Catalog | None = None) -> list[CoverageRow]:
    """One row per policy, entity then id order."""
    catalog = catalog or load_catalog()
    rows = []
    for p in sorted(policies, key=lambda p: (p.entity, p.id)):
        end = p.effective_to
        expired = end is not None and end < as_of
        period = f"{p.effective_from.isoformat()} 至 {end.isoformat() if end else '长期'}"
        rows.append(CoverageRow(
            id=p.id, title=p.title, entity=ENTITY_LABELS.get(p.entity, p.entity),
            region="、".join(_regions(p)) or "全国",
            documents="；".join(b.cite for b in p.bases),
            urls=tuple(b.url for b in p.bases if b.url),
            sources=tuple(source_kind(b.url) for b in p.bases if b.url),
            period=period + ("（已到期）" if expired else ""), expired=expired,
            delivery=DELIVERY_WORDS.get(p.delivery, p.delivery), amount=_amount_kind(p),
            data=_data_by_department(p, catalog), verification=p.verification,
        ))
    return rows


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def coverage_markdown(policies: Iterable[Policy], *, as_of: dt.date,
                      catalog: Catalog | None = None) -> str:
    """docs/library.md: the coverage table with its counts, as of ``as_of``."""
    rows = coverage_rows(policies, as_of=as_of, catalog=catalog)
    in_force = [r for r in rows if not r.expired]
    verified = [r for r in in_force if r.verification == "已核"]
    lines = [
        "# 政策库覆盖表 (policy library coverage)",
        "",
        "由 `mianshen rules table` 从内置政策库生成，请勿手工修改；测试保证本表与政策库一致。",
        "",
        f"统计日期：{as_of.isoformat()}。共 {len(rows)} 项政策，其中当日有效 {len(in_force)} 项"
        f"（已核 {len(verified)} 项，待核 {len(in_force) - len(verified)} 项），"
        f"已到期 {len(rows) - len(in_force)} 项。“待核”的政策是草稿：导入时不提交审核，"
        "不会发布，也不参与匹配。",
        "",
        f"当日有效且已核的 {len(verified)} 项中，有原文读自政府网站（来源“官方”）的 "
        f"{sum(OFFICIAL in r.sources for r in verified)} 项，只有转载原文的 "
        f"{sum(bool(r.sources) and OFFICIAL not in r.sources for r in verified)} 项，"
        f"未列原文链接的 {sum(not r.sources for r in verified)} 项。",
        "",
        "| 编号 | 名称 | 对象 | 地区 | 文号 | 原文 | 来源 | 有效期 | 兑现方式 | 金额 "
        "| 所需数据(按部门) | 核验 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        links = " ".join(f"[原文{i + 1 if len(r.urls) > 1 else ''}]({u})"
                         for i, u in enumerate(r.urls)) or "—"
        lines.append("| " + " | ".join(_cell(x) for x in (
            f"`{r.id}`", r.title, r.entity, r.region, r.documents, links,
            "、".join(dict.fromkeys(r.sources)) or "—", r.period, r.delivery,
            r.amount, r.data, r.verification)) + " |")
    return "\n".join(lines) + "\n"


def table_date(markdown: str) -> dt.date | None:
    """The 统计日期 written in a generated table, or None.

    >>> table_date("统计日期：2026-11-30。共 1 项")
    datetime.date(2026, 11, 30)
    """
    marker = "统计日期："
    at = markdown.find(marker)
    if at < 0:
        return None
    try:
        return dt.date.fromisoformat(markdown[at + len(marker):at + len(marker) + 10])
    except ValueError:
        return None
