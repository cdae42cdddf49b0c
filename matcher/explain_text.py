"""Plain Chinese for explanations: what a condition requires, how far a value is from it, and
how an amount was computed. Never rule syntax: "从业人数不超过 300 人", not "employees <= 300".

>>> from profiles.catalog import load_catalog
>>> from rules.parser import parse_expr
>>> ent = load_catalog().entity("enterprise")
>>> words = Words(catalog=ent, titles={}, sets=None, as_of=dt.date(2025, 10, 1))
>>> words.requirement(parse_expr("employees <= 300"))
'从业人数不超过 300 人'
>>> words.requirement(parse_expr('operating_revenue > 5000万 and rd_ratio >= 5%'))
'营业收入超过 5000 万元，且研发费用占营业收入比例不低于 5%'
>>> words.requirement(parse_expr("not serious_dishonesty"))
'未列入严重失信主体名单'
>>> words.requirement(parse_expr('vat_taxpayer_type in ["小规模纳税人", "一般纳税人"]'))
'增值税纳税人类型为“小规模纳税人”或“一般纳税人”'
>>> words.distance_text(parse_expr("employees >= 30"), value=18, distance=12.0)
'还差 12 人'
>>> words.distance_text(parse_expr("operating_revenue <= 300万"), value=3_032_000.0,
...                     distance=32_000.0)
'超出 3.2 万元'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from profiles.catalog import EntityCatalog, load_catalog
from rules import ast
from rules.printer import to_source
from store.money import wan_text, yuan_to_fen

_OPS = {">=": "不低于", ">": "超过", "<=": "不超过", "<": "低于", "=": "为", "!=": "不为"}
_COUNT_OPS = {">=": "不少于", ">": "多于", "<=": "不超过", "<": "少于", "=": "为", "!=": "不为"}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "!=": "!="}
_FUNCS = {"years_since": "{0}至今的整年数", "months_since": "{0}至今的整月数", "year": "{0}的年份",
          "abs": "{0}的绝对值", "min": "{0}与{1}中较小者", "max": "{0}与{1}中较大者",
          "add_years": "{0}满{1}年之日", "add_months": "{0}满{1}个月之日"}
_ARITH = {"+": " + ", "-": " − ", "*": " × ", "/": " ÷ "}
_LITERALS = (ast.Number, ast.String, ast.Bool, ast.Date, ast.AsOf, ast.ParamRef, ast.ListLit,
             ast.SetRef, ast.RegionRef)


def _number(value: float) -> str:
    d = Decimal(repr(float(value))).normalize()
    text = f"{d:,f}"
    return text


@dataclass(frozen=True, kw_only=True)
class Words:
    """Chinese wording for one entity kind's expressions (field labels and units from the
    catalog, policy titles for references, named sets for their labels)."""

    catalog: EntityCatalog
    titles: Mapping[str, str]
    sets: Any
    as_of: dt.date
    parameters: Mapping[str, Any] | None = None

    # ---- values ------------------------------------------------------------------------

    def unit_of(self, expr: ast.Expr) -> str | None:
        """The catalog unit of a subject expression (a field, or a ratio of fields)."""
        if isinstance(expr, ast.FieldRef) and expr.name in self.catalog:
            return self.catalog.field(expr.name).unit
        if isinstance(expr, ast.Call) and expr.func in ("years_since",):
            return "year"
        if isinstance(expr, ast.Call) and expr.func == "months_since":
            return "month"
        if isinstance(expr, ast.Call) and expr.func == "year":
            return "calendar_year"  # written as a year is: 2025, not 2,025
        if isinstance(expr, ast.Arith) and expr.op == "/":
            left, right = self.unit_of(expr.left), self.unit_of(expr.right)
            return "ratio" if left and left == right else None
        if isinstance(expr, ast.Arith):
            return self.unit_of(expr.left) or self.unit_of(expr.right)
        if isinstance(expr, ast.Aggregate):
            member = self.member_words(expr)
            if expr.func == "count":
                return "person"
            return member.unit_of(expr.value) if member and expr.value is not None else None
        return None

    def member_words(self, expr: ast.Aggregate) -> Words | None:
        """The wording inside an aggregate: the member's fields and the link's."""
        cat = load_catalog()
        rel = cat.relation(self.catalog.name, expr.relation)
        return None if rel is None else replace(self, catalog=cat.member_scope(rel))

    def word_of(self, expr: ast.Expr) -> str | None:
        """The unit word after a subject's number (the catalog's: 人, 岁, 个月)."""
        if isinstance(expr, ast.FieldRef) and expr.name in self.catalog:
            return self.catalog.field(expr.name).unit_label
        if isinstance(expr, ast.Aggregate) and expr.func != "count" and expr.value is not None:
            member = self.member_words(expr)
            return member.word_of(expr.value) if member else None
        return self.catalog_unit_label(self.unit_of(expr))

    def quantity(self, value: float, unit: str | None, word: str | None = None) -> str:
        """A number with its unit as people write it: 300 人, 5000 万元, 5%."""
        if unit == "yuan":
            fen = yuan_to_fen(value)
            return wan_text(fen) if fen is not None else "未知"
        if unit == "ratio":
            return f"{_number(round(float(value) * 100, 6))}%"
        if unit == "calendar_year" and float(value).is_integer():
            return f"{int(value)}"
        label = word or self.catalog_unit_label(unit)
        return f"{_number(value)} {label}" if label else _number(value)

    @staticmethod
    def catalog_unit_label(unit: str | None) -> str | None:
        from profiles.catalog import UNIT_LABELS

        return UNIT_LABELS.get(unit, unit) if unit else None

    def literal(self, expr: ast.Expr, unit: str | None, word: str | None = None) -> str:
        if isinstance(expr, ast.ParamRef) and self.parameters and expr.name in self.parameters:
            found = self.parameters[expr.name].at(self.as_of)
            return "未定义" if found is None else self.literal(found, unit, word)
        if isinstance(expr, ast.ParamRef):  # parameters not given: its name, never a loop
            return f"参数 {expr.name}"
        if isinstance(expr, ast.Number):
            return self.quantity(expr.value, expr.unit or unit, word)
        if isinstance(expr, ast.String):
            return f"“{expr.value}”"
        if isinstance(expr, ast.Bool):
            return "是" if expr.value else "否"
        if isinstance(expr, ast.Date):
            return expr.value.isoformat()
        if isinstance(expr, ast.AsOf):
            return f"评估日({self.as_of.isoformat()})"
        if isinstance(expr, ast.ListLit):
            return "或".join(self.literal(i, unit) for i in expr.items)
        if isinstance(expr, ast.SetRef):
            known = self.sets is not None and expr.name in self.sets
            named = self.sets[expr.name] if known else None
            return f"“{named.label if named else expr.name}”"
        if isinstance(expr, ast.RegionRef):
            return expr.name
        return self.subject(expr)

    def subject(self, expr: ast.Expr) -> str:
        """What is measured: a field's label, a ratio of fields, a function of a field."""
        if isinstance(expr, ast.FieldRef):
            return self.catalog.field(expr.name).label if expr.name in self.catalog else expr.name
        if isinstance(expr, ast.Call):
            args = [self.subject(a) for a in expr.args]
            pattern = _FUNCS.get(expr.func)
            return pattern.format(*args) if pattern else f"{expr.func}({'、'.join(args)})"
        if isinstance(expr, ast.Arith):
            if expr.op == "/" and self.unit_of(expr) == "ratio":
                return f"{self.subject(expr.left)}占{self.subject(expr.right)}的比例"
            return f"{self.subject(expr.left)}{_ARITH[expr.op]}{self.subject(expr.right)}"
        if isinstance(expr, ast.Neg):
            return f"负的{self.subject(expr.item)}"
        if isinstance(expr, _LITERALS):
            return self.literal(expr, None)
        if isinstance(expr, ast.PolicyRef):
            return f"《{self.titles.get(expr.policy_id, expr.policy_id)}》"
        if isinstance(expr, ast.LedgerRef):
            return self.ledger_words(expr)
        if isinstance(expr, ast.Aggregate):
            return self._aggregate(expr)
        if isinstance(expr, (ast.Compare, ast.In, ast.IsEmpty, ast.Not, ast.And, ast.Or)):
            return self.requirement(expr)
        return to_source(expr)  # a node without words yet: the rule text, never a loop

    def _aggregate(self, expr: ast.Aggregate) -> str:
        """An aggregate over related entities in words, its filter and value read with the
        member's labels: 配偶的年龄, 招用人员中（参保月数不少于 3 个月）的人数."""
        rel = load_catalog().relation(self.catalog.name, expr.relation)
        member = self.member_words(expr)
        if rel is None or member is None:
            return to_source(expr)
        value = member.subject(expr.value) if expr.value is not None else ""
        if not rel.many and expr.value is not None and expr.where is None:
            return f"{rel.label}的{value}"
        where = f"中（{member.requirement(expr.where)}）" if expr.where is not None else ""
        if expr.func == "count":
            return f"{rel.label}{where}的人数"
        total = {"sum": "合计", "min": "最小值", "max": "最大值"}[expr.func]
        return f"{rel.label}{where}的{value}{total}"

    def ledger_words(self, expr: ast.LedgerRef) -> str:
        """An award-history lookup in words: 近3年已获得《…》的金额 / 已获得过《…》."""
        title = f"《{self.titles.get(expr.policy_id, expr.policy_id)}》"
        window = ""
        if expr.within_months is not None:
            m = expr.within_months
            window = f"近{m // 12}年" if m % 12 == 0 else f"近{m}个月"
        if expr.kind == "amount":
            return f"{window}已获得{title}的金额"
        return f"{window}已获得过{title}"

    # ---- conditions --------------------------------------------------------------------

    def _compare(self, expr: ast.Compare) -> str:
        left_lit = isinstance(expr.left, _LITERALS)
        right_lit = isinstance(expr.right, _LITERALS)
        subject, op, other = (expr.right, _FLIP[expr.op], expr.left) if (
            left_lit and not right_lit) else (expr.left, expr.op, expr.right)
        every = self.every(subject, op, other)
        if every is not None:
            return every
        unit = self.unit_of(subject)
        words = _COUNT_OPS if unit in ("person", "child") else _OPS
        shown = self.literal(other, unit, self.word_of(subject))
        gap = "" if shown.startswith("“") else " "
        return f"{self.subject(subject)}{words[op]}{gap}{shown}"

    def every(self, subject: ast.Expr, op: str, other: ast.Expr) -> str | None:
        """``all(rel where X)`` as written (the parser's core is ``count(rel where not X)
        = 0``): 配偶（如有）满足：…, 家庭成员均满足：…; None for any other comparison."""
        if not (isinstance(subject, ast.Aggregate) and subject.func == "count" and op == "="
                and isinstance(other, ast.Number) and other.value == 0
                and isinstance(subject.where, ast.Not)):
            return None
        rel = load_catalog().relation(self.catalog.name, subject.relation)
        member = self.member_words(subject)
        if rel is None or member is None:
            return None
        wanted = member.requirement(subject.where.item)
        return f"{rel.label}均满足：{wanted}" if rel.many else f"{rel.label}（如有）满足：{wanted}"

    def requirement(self, expr: ast.Expr) -> str:
        """What a condition requires, in a sentence."""
        if isinstance(expr, ast.Compare):
            return self._compare(expr)
        if isinstance(expr, ast.In):
            what = self.subject(expr.item)
            c = expr.container
            if isinstance(c, ast.RegionRef):
                return f"{what}{'不在' if expr.negated else '位于'}{c.name}"
            if isinstance(c, ast.SetRef):
                return f"{what}{'不属于' if expr.negated else '属于'}{self.literal(c, None)}"
            return f"{what}{'不为' if expr.negated else '为'}{self.literal(c, None)}"
        if isinstance(expr, ast.IsEmpty):
            return f"{self.subject(expr.item)}{'已登记' if expr.negated else '未登记'}"
        if isinstance(expr, ast.FieldRef):
            return f"{self.subject(expr)}：是"
        if isinstance(expr, ast.LedgerRef):
            return self.ledger_words(expr)
        if isinstance(expr, ast.Not) and isinstance(expr.item, ast.LedgerRef):
            return "未" + self.ledger_words(expr.item).replace("已获得过", "获得过", 1)
        if isinstance(expr, ast.Not) and isinstance(expr.item, ast.FieldRef):
            label = self.subject(expr.item)
            return ("未" + label) if label.startswith("列入") else f"{label}：否"
        if isinstance(expr, ast.Not):
            return f"不满足：{self.requirement(expr.item)}"
        if isinstance(expr, ast.PolicyRef):
            return f"符合{self.subject(expr)}的条件"
        if isinstance(expr, ast.And):
            return "，且".join(self.requirement(i) for i in expr.items)
        if isinstance(expr, ast.Or):
            return "，或".join(self.requirement(i) for i in expr.items)
        if isinstance(expr, ast.Bool):
            return "无条件" if expr.value else "不可能满足"
        if isinstance(expr, ast.Aggregate):
            return self.subject(expr)
        return to_source(expr)  # a node without words yet: the rule text, never a loop

    # ---- distances ---------------------------------------------------------------------

    def _bound(self, expr: ast.Expr) -> tuple[ast.Expr, str, ast.Expr] | None:
        if not isinstance(expr, ast.Compare):
            return None
        if isinstance(expr.left, _LITERALS) and not isinstance(expr.right, _LITERALS):
            return expr.right, _FLIP[expr.op], expr.left
        return expr.left, expr.op, expr.right

    def _literal_value(self, expr: ast.Expr) -> float | None:
        if isinstance(expr, ast.ParamRef) and self.parameters and expr.name in self.parameters:
            found = self.parameters[expr.name].at(self.as_of)
            return None if found is None else self._literal_value(found)
        return float(expr.value) if isinstance(expr, ast.Number) else None

    def distance_text(self, expr: ast.Expr, *, value: object, distance: float | None) -> str | None:
        """How far a numeric value is from passing, in words (还差 12 人 / 超出 3.2 万元);
        None when the condition is met, not numeric, or the distance is unknown."""
        if distance is None or distance == 0:
            return None
        bounds = [expr] if isinstance(expr, ast.Compare) else (
            list(expr.items) if isinstance(expr, ast.And) else [])
        for bound in bounds:
            parts = self._bound(bound)
            if parts is None:
                continue
            subject, op, other = parts
            limit = self._literal_value(other)
            if limit is None or not isinstance(value, int | float) or isinstance(value, bool):
                continue
            amount = self.quantity(abs(distance), self.unit_of(subject), self.word_of(subject))
            if (op in (">=", ">") and value < limit) or (op == ">" and value == limit):
                return f"还差 {amount}"
            if (op in ("<=", "<") and value > limit) or (op == "<" and value == limit):
                return f"超出 {amount}"
            if op == "=" and value != limit:
                return f"相差 {amount}"
        if len(bounds) == 1:
            return f"相差 {self.quantity(abs(distance), None)}"
        return None

    # ---- values ------------------------------------------------------------------------

    def value_text(self, value: object, *, field: str | None,
                   unit: str | None = None) -> str:
        """An entity's value as people read it (money exact to the fen, units from the
        catalog; ``unit``: of what the condition computes from the field, when that is not
        the field's own, e.g. the calendar year of a date)."""
        f = self.catalog.field(field) if field and field in self.catalog else None
        if value is None:
            if f is not None and f.empty == "not_listed":
                return "未列入名单"
            return "未知 — 需补充"
        if isinstance(value, bool):
            return "是" if value else "否"
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, int | float):
            if unit == "calendar_year" and float(value).is_integer():
                return str(int(value))  # what the condition computed of the field: a year
            unit = f.unit if f is not None else None
            if unit == "yuan":
                from store.money import format_fen

                return format_fen(yuan_to_fen(value))
            if unit == "ratio":
                return f"{float(value) * 100:.2f}%"
            label = f.unit_label if f is not None else None
            # a computed integer (a year, a count) has no catalog unit: written plainly
            shown = (_number(value) if isinstance(value, float) else
                     f"{value:,}" if f is not None else str(value))
            return f"{shown} {label}" if label else shown
        if isinstance(value, list | tuple):
            return "、".join(str(v) for v in value)
        return str(value)
