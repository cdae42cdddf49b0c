"""Type checker of policy expressions against the tag catalog.

It resolves names (policy parameter -> catalog field by name or Chinese label -> on the right
of ``in``: named set -> region) and checks types and units. It collects every problem
instead of stopping at the first; the loader raises them together.

>>> from profiles.catalog import load_catalog
>>> from rules.parser import parse_expr
>>> from rules.sets import bundled_sets
>>> scope = Scope(entity=load_catalog().entity("enterprise"), sets=bundled_sets(), file="p.yaml")
>>> checker = Checker(scope)
>>> checker.condition(parse_expr("从业人数 <= 300")).left.name
'employees'
>>> _ = checker.condition(parse_expr("operating_revenue > 5%", line=7, column=13))
>>> p = checker.problems[0]
>>> p.line, p.column, p.code
(7, 33, 'unit-mismatch')
>>> p.message
'期望与 operating_revenue 比较的值单位为 元，实际为 百分比(%) 5%'
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from profiles.catalog import EntityCatalog, Field, load_catalog, unknown_field_hint
from profiles.regions import (
    AmbiguousRegionError,
    Regions,
    UnknownRegionError,
    load_regions,
)
from rules import ast, years
from rules.errors import Problem
from rules.model import Parameter
from rules.printer import to_source
from rules.sets import NamedSets
from rules.suggest import suggest_policy, suggest_value

Kind = Literal["bool", "number", "str", "date", "list", "set", "region", "error"]

_FIELD_KINDS: dict[str, Kind] = {
    "int": "number", "float": "number", "str": "str", "date": "date", "bool": "bool",
}
_KIND_WORDS: dict[str, str] = {
    "bool": "真/假条件", "number": "数值", "str": "文本",
    "date": "日期", "list": "列表", "set": "命名集合", "region": "行政区划",
}
UNIT_WORDS: dict[str, str] = {
    "yuan": "元", "ratio": "百分比(%)", "person": "人",
    "month": "月", "year": "年", "grade": "级",
    "child": "个",
}


@dataclass(frozen=True, kw_only=True)
class Type:
    kind: Kind
    unit: str | None = None
    field: Field | None = None  # set when the expression is exactly this catalog field
    elem: Type | None = None  # element type of a list


ERROR = Type(kind="error")
BOOL = Type(kind="bool")


@dataclass(kw_only=True)
class Scope:
    """What names may resolve to while checking one policy."""

    entity: EntityCatalog
    sets: NamedSets
    file: str
    parameters: Mapping[str, Parameter] = field(default_factory=dict)
    regions: Regions = field(default_factory=load_regions)
    #: id -> entity of every known policy; None skips the reference check (single file).
    policies: Mapping[str, str] | None = None
    #: the id of the policy being checked (its own award-ledger lookups are marked ``own``)
    policy_id: str | None = None


def _words(t: Type) -> str:
    return _KIND_WORDS.get(t.kind, t.kind)


def _unit(u: str | None) -> str:
    return UNIT_WORDS.get(u, u) if u else "无单位"


def _desc(expr: ast.Expr) -> str:
    return to_source(expr)


class Checker:
    """Checks expressions of one policy; problems accumulate in :attr:`problems`."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.problems: list[Problem] = []

    # ---- entry points -----------------------------------------------------------------

    def condition(self, expr: ast.Expr) -> ast.Expr:
        """Resolve a condition; it must be a true/false expression."""
        out, t = self.infer(expr)
        self._want_bool(out, t)
        return out

    def number(self, expr: ast.Expr, *, what: str = "金额") -> ast.Expr:
        """Resolve an expression that must be a number (amounts, tier keys)."""
        out, t = self.infer(expr)
        if t.kind not in ("number", "error"):
            self.error(out.pos, "type-mismatch", f"期望{what}为数值，实际为 "
                       f"{_words(t)} {_desc(out)}")
        return out

    def error(self, pos: ast.Pos, code: str, message: str, suggestion: str | None = None) -> None:
        problem = Problem(file=self.scope.file, line=pos.line, column=pos.column, code=code,
                          message=message, suggestion=suggestion)
        if problem not in self.problems:  # an expression checked twice reports once
            self.problems.append(problem)

    # ---- names ------------------------------------------------------------------------

    def _suggest(self, name: str, pool: Sequence[str]) -> str | None:
        found = difflib.get_close_matches(name, list(pool), n=1, cutoff=0.5)
        return found[0] if found else None

    def _name(self, ref: ast.FieldRef, *, container: bool) -> tuple[ast.Expr, Type]:
        name, pos, scope = ref.name, ref.pos, self.scope
        if name in scope.parameters:
            return ast.ParamRef(name=name, pos=pos), self._param_type(scope.parameters[name])
        if name in scope.entity:
            f = scope.entity.field(name)
            if f.kind == "yearly":
                self.error(pos, "type-mismatch", f"期望按年度读取 {f.name}({f.label})，如 "
                           f"{f.name}[year(as_of) - 1] 或 sum({f.name}, years = 3)，"
                           f"实际为 没有年度的 '{name}'")
                return ref, ERROR
            t = Type(kind=_FIELD_KINDS[f.type], unit=f.unit, field=f)
            return ast.FieldRef(name=f.name, written=ref.written or name, pos=pos), t
        if container:
            if name in scope.sets:
                return ast.SetRef(name=name, pos=pos), Type(kind="set")
            return self._region(ref)
        note, hint = unknown_field_hint(scope.entity, name)
        if note is None and self._is_region(name):
            hint = None
            note = (f"'{name}' 是行政区划名称，只能直接写在 in 之后，不能放进列表；"
                    "几个地区请用 or 连接（如 district in 广州市 or district in 深圳市）")
        if note is None and hint is None:
            hint = self._suggest(name, list(scope.parameters))
        self.error(pos, "unknown-field", f"期望 {scope.entity.name} 目录中的"
                   f"字段或参数，实际为 '{name}'" + (f"：{note}" if note else ""), hint)
        return ref, ERROR

    def _is_region(self, name: str) -> bool:
        try:
            self.scope.regions.resolve(name)
        except AmbiguousRegionError:
            return True
        except UnknownRegionError:
            return False
        return True

    def _region(self, ref: ast.FieldRef) -> tuple[ast.Expr, Type]:
        """A name after ``in`` that is no named set: a region of China, by name or code. A
        region is never "suggested" by resemblance (杭州市 is not 广州市): only a short form of
        the same name (广州 -> 广州市), and a name shared by several regions lists them."""
        name, pos, scope = ref.name, ref.pos, self.scope
        try:
            prefix = scope.regions.prefix(name)
        except AmbiguousRegionError as e:
            listed = "、".join(f"{c.full_name}({c.code})" for c in e.candidates)
            self.error(pos, "ambiguous-region", f"期望唯一的行政区划名称，实际为 '{name}'，"
                       f"同名的有 {listed}；请写明上级（如 '{e.example}'）")
            return ref, ERROR
        except UnknownRegionError as e:
            unknown = e
        else:
            return ast.RegionRef(name=name, prefix=prefix, pos=pos), Type(kind="region")
        set_hint = self._suggest(name, list(scope.sets))
        if unknown.candidates or (set_hint is None and name[-1:] in "省市区县州盟旗"):
            more = ""
            if len(unknown.candidates) > 1:
                more = "；名称以它开头的有：" + "、".join(unknown.candidates[:8])
            elif not unknown.candidates:
                more = "；全国行政区划代码表中没有这个名称"
            self.error(pos, "unknown-region", f"期望行政区划名称(GB/T 2260)，"
                       f"实际为 '{name}'{more}", unknown.suggestion)
        else:
            self.error(pos, "unknown-set", f"期望命名集合，实际为 '{name}'", set_hint)
        return ref, ERROR

    def _param_type(self, param: Parameter) -> Type:
        """The type of a parameter's first value (:meth:`parameters` checks that every dated
        value has it); problems are reported there, once, not at each use."""
        for dated in param.values:
            _, t = Checker(self.scope).infer(dated.value)
            return replace(t, field=None)
        return ERROR

    def parameters(self) -> None:
        """Every dated value of a parameter has the same type, and a list holds one type of
        element: ``{2025-08-23: [2025], 2026-09-01: ["2026"]}`` is refused where it is
        written."""
        for name, param in self.scope.parameters.items():
            first: Type | None = None
            for dated in param.values:
                _, t = self.infer(dated.value)
                if t.kind == "error":
                    continue
                if first is None:
                    first = t
                elif (t.kind, t.elem.kind if t.elem else None) != (
                        first.kind, first.elem.kind if first.elem else None):
                    self.error(dated.value.pos, "type-mismatch", f"期望参数 '{name}' 在各日期"
                               f"的值同为{self._type_text(first)}，实际为 {dated.since} 起的"
                               f"{self._type_text(t)} {_desc(dated.value)}")

    def _type_text(self, t: Type) -> str:
        if t.kind == "list":
            return f"{_words(t.elem) if t.elem else ''}列表"
        return _words(t)

    # ---- inference --------------------------------------------------------------------

    def infer(self, expr: ast.Expr, *, container: bool = False) -> tuple[ast.Expr, Type]:
        """The resolved expression and its type."""
        if isinstance(expr, ast.Number):
            return expr, Type(kind="number", unit=expr.unit)
        if isinstance(expr, ast.String):
            return expr, Type(kind="str")
        if isinstance(expr, ast.Bool):
            return expr, BOOL
        if isinstance(expr, ast.Date | ast.AsOf):
            return expr, Type(kind="date")
        if isinstance(expr, ast.FieldRef):
            return self._name(expr, container=container)
        if isinstance(expr, ast.ParamRef | ast.SetRef | ast.RegionRef):
            return self._name(ast.FieldRef(name=expr.name, written=expr.name, pos=expr.pos),
                              container=container)
        if isinstance(expr, ast.PolicyRef):
            return self._policy_ref(expr), BOOL
        if isinstance(expr, ast.LedgerRef):
            self._policy_ref(ast.PolicyRef(policy_id=expr.policy_id, pos=expr.pos))
            expr = replace(expr, own=expr.policy_id == self.scope.policy_id)
            return expr, (BOOL if expr.kind == "received" else Type(kind="number", unit="yuan"))
        if isinstance(expr, ast.ListLit):
            return self._list(expr)
        if isinstance(expr, ast.Compare):
            return self._compare(expr)
        if isinstance(expr, ast.In):
            return self._in(expr)
        if isinstance(expr, ast.IsEmpty):
            item, _ = self.infer(expr.item)
            return replace(expr, item=item), BOOL
        if isinstance(expr, ast.And | ast.Or):
            items = []
            for i in expr.items:
                out, t = self.infer(i)
                self._want_bool(out, t)
                items.append(out)
            return replace(expr, items=tuple(items)), BOOL
        if isinstance(expr, ast.Not):
            out, t = self.infer(expr.item)
            self._want_bool(out, t)
            return replace(expr, item=out), BOOL
        if isinstance(expr, ast.Arith):
            return self._arith(expr)
        if isinstance(expr, ast.Neg):
            out, t = self._numeric(expr.item, "'-'")
            return replace(expr, item=out), Type(kind=t.kind, unit=t.unit)
        if isinstance(expr, ast.Aggregate):
            return self._aggregate(expr)
        if isinstance(expr, ast.YearValue):
            return self._year_value(expr)
        return self._call(expr)

    def _year_value(self, expr: ast.YearValue) -> tuple[ast.Expr, Type]:
        """``营业收入[year(as_of) - 1]``: a yearly series of the entity, and a year computed
        from the as-of date, numbers and parameters (:mod:`rules.years`)."""
        series = self.scope.entity.series(expr.field)
        year, _ = self.infer(expr.year)
        out = replace(expr, year=year)
        if series is None:
            names = [n for f in self.scope.entity.yearly for n in (f.name, f.label)]
            scalar = expr.field in self.scope.entity
            self.error(expr.pos, "unknown-field", (
                f"期望按年度记录的字段({'、'.join(names[1::2]) or '无'})，实际为 "
                f"'{expr.field}'" + ("(它只有一个值，不按年度记录)" if scalar else "")),
                self._suggest(expr.field, names))
            return out, ERROR
        why = years.year_problem(year, self.scope.parameters)
        if why is not None:
            self.error(year.pos, "type-mismatch", why)
        out = replace(out, field=series.name)
        return out, Type(kind=_FIELD_KINDS[series.type], unit=series.unit)

    def _aggregate(self, expr: ast.Aggregate) -> tuple[ast.Expr, Type]:
        """Resolve the relation, then the filter and value against the member scope."""
        catalog = load_catalog()
        owner = self.scope.entity.name
        rel = catalog.relation(owner, expr.relation)
        if rel is None:
            names = [n for r in catalog.relations.get(owner, {}).values()
                     for n in (r.name, r.label)]
            self.error(expr.pos, "unknown-relation", f"期望 {owner} 目录中的关系"
                       f"({', '.join(names) or '无'})，实际为 '{expr.relation}'",
                       self._suggest(expr.relation, names))
            return expr, ERROR
        navigation = bool(expr.written) and expr.where is None and expr.func == "max"
        if navigation and rel.many:
            self.error(expr.pos, "type-mismatch", f"期望 '.' 前为至多一个成员的关系，"
                       f"实际为 多个成员的 {rel.name}({rel.label})；请对它用 count()、"
                       f"sum()、min() 或 max()")
        inner = Checker(replace(self.scope, entity=catalog.member_scope(rel)))
        where = value = None
        vt = Type(kind="number")
        if expr.where is not None:
            where = inner.condition(expr.where)
        if expr.value is not None:
            value, vt = inner.infer(expr.value)
            if expr.func == "sum" and vt.kind not in ("number", "error"):
                inner.error(value.pos, "type-mismatch", f"期望求和的值为数值，实际为 "
                            f"{_words(vt)} {_desc(value)}")
        if any(ast.aggregates(p) for p in (where, value) if p is not None):
            inner.error(expr.pos, "unsupported", "期望聚合函数内不再有聚合，"
                        "实际为 嵌套的聚合")
        self.problems.extend(inner.problems)
        out = replace(expr, relation=rel.name, where=where, value=value)
        if expr.func == "count":
            return out, Type(kind="number")
        if navigation:
            return out, replace(vt, field=vt.field)
        return out, replace(vt, field=None)

    def _want_bool(self, expr: ast.Expr, t: Type) -> None:
        if t.kind not in ("bool", "error"):
            self.error(expr.pos, "type-mismatch", f"期望真/假条件，实际为 "
                       f"{_words(t)} {_desc(expr)}")

    def _numeric(self, expr: ast.Expr, where: str) -> tuple[ast.Expr, Type]:
        out, t = self.infer(expr)
        if t.kind not in ("number", "error"):
            used = "被当作数值的真/假值" if t.kind == "bool" else _words(t)
            self.error(out.pos, "type-mismatch", f"期望 {where} 的操作数为数值，实际为 "
                       f"{used} {_desc(out)}")
            return out, ERROR
        return out, t

    def _policy_ref(self, ref: ast.PolicyRef) -> ast.Expr:
        known = self.scope.policies
        if known is None:
            return ref
        if ref.policy_id not in known:
            self.error(ref.pos, "unknown-policy", f"期望政策库中的政策 id，"
                       f"实际为 '{ref.policy_id}'", suggest_policy(ref.policy_id, list(known)))
        elif known[ref.policy_id] != self.scope.entity.name:
            self.error(ref.pos, "entity-mismatch", f"期望适用于 "
                       f"{self.scope.entity.name} 的政策，实际为 适用于 {known[ref.policy_id]} 的 "
                       f"'{ref.policy_id}'")
        return ref

    def _list(self, expr: ast.ListLit) -> tuple[ast.Expr, Type]:
        items: list[ast.Expr] = []
        elem: Type | None = None
        for i in expr.items:
            out, t = self.infer(i)
            items.append(out)
            if elem is None or elem.kind == "error":
                elem = t
            elif t.kind not in (elem.kind, "error"):
                self.error(out.pos, "type-mismatch", f"期望列表中为{_words(elem)}，"
                           f"实际为 {_words(t)} {_desc(out)}")
        return replace(expr, items=tuple(items)), Type(kind="list", elem=elem)

    def _check_value(self, f: Field | None, lit: ast.Expr) -> None:
        if f is None or f.values is None or not isinstance(lit, ast.String):
            return
        if lit.value not in f.values:
            self.error(lit.pos, "unknown-value", f"期望 {f.name}({f.label}) 为 "
                       f"{'、'.join(f.values)} 之一，实际为 '{lit.value}'",
                       suggest_value(lit.value, list(f.values)))

    def _same_unit(self, a: Type, b: Type) -> bool:
        return a.unit is None or b.unit is None or a.unit == b.unit

    def _compare(self, expr: ast.Compare) -> tuple[ast.Expr, Type]:
        left, lt = self.infer(expr.left)
        right, rt = self.infer(expr.right)
        out = replace(expr, left=left, right=right)
        if "error" in (lt.kind, rt.kind):
            return out, BOOL
        if lt.kind != rt.kind:
            self.error(right.pos, "type-mismatch", f"期望与 {_desc(left)} 比较的值为"
                       f"{_words(lt)}，实际为 {_words(rt)} {_desc(right)}")
        elif expr.op not in ("=", "!=") and lt.kind not in ("number", "date"):
            self.error(expr.pos, "type-mismatch", f"期望 '{expr.op}' 两边为"
                       f"数值或日期，实际为 {_words(lt)} {_desc(left)}")
        elif lt.kind == "number" and not self._same_unit(lt, rt):
            self.error(right.pos, "unit-mismatch", f"期望与 {_desc(left)} 比较的值单位为 "
                       f"{_unit(lt.unit)}，实际为 {_unit(rt.unit)} {_desc(right)}")
        else:
            self._check_value(lt.field, right)
            self._check_value(rt.field, left)
        return out, BOOL

    def _in(self, expr: ast.In) -> tuple[ast.Expr, Type]:
        item, it = self.infer(expr.item)
        container, ct = self.infer(expr.container, container=True)
        out = replace(expr, item=item, container=container)
        if "error" in (it.kind, ct.kind):
            return out, BOOL
        if ct.kind == "list":
            for elem in self._list_items(container):
                _, et = self.infer(elem)
                if et.kind not in (it.kind, "error"):
                    self.error(elem.pos, "type-mismatch", f"期望与 {_desc(item)} 同为"
                               f"{_words(it)}，实际为 {_words(et)} {_desc(elem)}")
                else:
                    self._check_value(it.field, elem)
        elif ct.kind in ("set", "region"):
            if it.kind != "str":
                self.error(item.pos, "type-mismatch", f"期望 'in "
                           f"{_desc(container)}' 前为代码文本，实际为 {_words(it)} {_desc(item)}")
        else:
            self.error(container.pos, "type-mismatch", f"期望 'in' 后为列表、命名集合或"
                       f"行政区划，实际为 {_words(ct)} {_desc(container)}")
        return out, BOOL

    def _list_items(self, container: ast.Expr) -> list[ast.Expr]:
        """The elements a list container may hold: a literal's, or every dated value's of a
        list parameter."""
        if isinstance(container, ast.ParamRef):
            values = self.scope.parameters[container.name].values
            return [i for d in values if isinstance(d.value, ast.ListLit)
                    for i in d.value.items]
        assert isinstance(container, ast.ListLit)
        return list(container.items)

    def _arith(self, expr: ast.Arith) -> tuple[ast.Expr, Type]:
        left, lt = self._numeric(expr.left, f"'{expr.op}'")
        right, rt = self._numeric(expr.right, f"'{expr.op}'")
        out = replace(expr, left=left, right=right)
        if "error" in (lt.kind, rt.kind):
            return out, Type(kind="number")
        lu, ru = lt.unit, rt.unit
        if expr.op in "+-":
            if not self._same_unit(lt, rt):
                self.error(expr.pos, "unit-mismatch", f"期望 '{expr.op}' 两边单位相同，"
                           f"实际为 {_desc(out)} 中的 {_unit(lu)} 和 {_unit(ru)}")
            return out, Type(kind="number", unit=lu or ru)
        if expr.op == "*":
            if lu is None or lu == "ratio":
                return out, Type(kind="number", unit=ru)
            return out, Type(kind="number", unit=lu if ru in (None, "ratio") else None)
        if lu is not None and lu == ru:
            return out, Type(kind="number", unit="ratio")
        return out, Type(kind="number", unit=lu if ru in (None, "ratio") else None)

    def _add_period(self, expr: ast.Call) -> tuple[ast.Expr, Type]:
        """``add_years(date, n)`` / ``add_months(date, n)``: a date; n a whole number."""
        day, t = self.infer(expr.args[0])
        if t.kind not in ("date", "error"):
            self.error(day.pos, "type-mismatch", f"期望 {expr.func}() 的第一个参数为日期，"
                       f"实际为 {_words(t)} {_desc(day)}")
        count = expr.args[1]
        if not (isinstance(count, ast.Number) and count.unit is None
                and float(count.value).is_integer()):
            self.error(count.pos, "type-mismatch", f"期望 {expr.func}() 的第二个参数为整数"
                       f"(如 3)，实际为 {_desc(count)}")
        return replace(expr, args=(day, count)), Type(kind="date")

    def _call(self, expr: ast.Expr) -> tuple[ast.Expr, Type]:
        if not isinstance(expr, ast.Call):
            raise TypeError(f"expected an expression node, got {type(expr).__name__}")
        args: list[ast.Expr] = []
        types: list[Type] = []
        if expr.func in ("add_years", "add_months"):
            return self._add_period(expr)
        for a in expr.args:
            if expr.func in ("year", "years_since", "months_since"):
                out, t = self.infer(a)
                if t.kind not in ("date", "error"):
                    self.error(out.pos, "type-mismatch", f"期望 {expr.func}() 的参数为日期，"
                               f"实际为 {_words(t)} {_desc(out)}")
            else:
                out, t = self._numeric(a, f"{expr.func}()")
            args.append(out)
            types.append(t)
        out_expr = replace(expr, args=tuple(args))
        result = {"year": None, "years_since": "year", "months_since": "month"}
        if expr.func in result:
            return out_expr, Type(kind="number", unit=result[expr.func])
        units = {t.unit for t in types if t.unit is not None}
        if len(units) > 1:
            self.error(expr.pos, "unit-mismatch", f"期望 {expr.func}() 的各参数单位相同，"
                       f"实际为 {'、'.join(sorted(_unit(u) for u in units))}")
        return out_expr, Type(kind="number", unit=next(iter(units), None))
