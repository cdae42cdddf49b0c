"""Read one policy document (a ruamel round-trip YAML mapping) into :class:`rules.model.Policy`.

Every problem is collected with the file, line and column of the YAML node it is about;
expressions are parsed at the position of their scalar so their errors point into the file.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    FoldedScalarString,
    LiteralScalarString,
    SingleQuotedScalarString,
)

from rules import ast
from rules.checker import Checker
from rules.dated_tables import TableShapeError, is_table, split_table
from rules.errors import PolicyError, Problem
from rules.model import (
    AMOUNT_KINDS,
    PERIODS,
    AllOf,
    Amount,
    AmountRule,
    AnyOf,
    Case,
    CaseAmount,
    Condition,
    ConditionNode,
    DatedValue,
    FormulaAmount,
    NotOf,
    Parameter,
    Tier,
    TierAmount,
)
from rules.parser import parse_expr
from rules.suggest import suggest
from rules.yaml_text import as_date, date_problem_text, position

TOP_KEYS = ("id", "title", "entity", "basis", "effective", "delivery", "parameters",
            "eligibility", "amount", "exclusivity", "budget", "description", "trigger",
            "verification", "cap", "declared")
BASIS_KEYS = ("document", "title", "clause", "url", "text")
REQUIRED_KEYS = ("id", "title", "entity", "basis", "effective", "delivery", "eligibility")


class Reader:
    """Walks the YAML tree of one file; collects problems in :attr:`problems`."""

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.lines = text.split("\n")
        self.problems: list[Problem] = []
        self.checker: Checker | None = None
        self.params: dict[str, Parameter] = {}

    # ---- positions --------------------------------------------------------------------

    def key_pos(self, node: Any, key: Any) -> ast.Pos:
        return ast.Pos(*position(node, key, of="key"))

    def value_pos(self, node: Any, key: Any) -> ast.Pos:
        of = "item" if isinstance(node, CommentedSeq) else "value"
        return ast.Pos(*position(node, key, of=of))

    def node_pos(self, node: Any) -> ast.Pos:
        lc = getattr(node, "lc", None)
        if lc is not None and lc.line is not None:
            return ast.Pos(lc.line + 1, lc.col + 1)
        return ast.Pos(1, 1)

    def error(self, pos: ast.Pos, code: str, message: str, suggestion: str | None = None) -> None:
        self.problems.append(Problem(file=self.file, line=pos.line, column=pos.column,
                                     code=code, message=message, suggestion=suggestion))

    # ---- shapes -----------------------------------------------------------------------

    def mapping(self, node: Any, key: Any, allowed: Sequence[str]) -> CommentedMap | None:
        """``node[key]`` when it is a mapping with only ``allowed`` keys, else None."""
        value = node.get(key)
        if not isinstance(value, CommentedMap):
            self.error(self.value_pos(node, key), "schema",
                       f"期望 '{key}' 为映射，实际为 {type_word(value)}")
            return None
        self.only_keys(value, allowed, where=f" '{key}' ")
        return value

    def only_keys(self, node: CommentedMap, allowed: Sequence[str], *, where: str) -> None:
        for k in node:
            if str(k) not in allowed:
                self.error(self.key_pos(node, k), "schema", f"期望{where}的键"
                           f"({', '.join(allowed)})，实际为 '{k}'", suggest(str(k), allowed))

    def text(self, node: Any, key: str, *, required: bool = True) -> str | None:
        value = node.get(key)
        if value is None:
            if required:
                self.error(self.node_pos(node), "schema", f"期望有 '{key}'，实际没有")
            return None
        if isinstance(value, float):  # `clause: 1.` reads as 1.0: writing it back would change it
            self.error(self.value_pos(node, key), "schema",
                       f"期望 '{key}' 为文本，实际为数字 {value!r}；按原文写请加引号(如 \"1.\")")
            return None
        if not isinstance(value, str | int | dt.date):
            self.error(self.value_pos(node, key), "schema",
                       f"期望 '{key}' 为文本，实际为 {type_word(value)}")
            return None
        return str(value)

    def date(self, node: Any, key: str) -> dt.date | None:
        value = node.get(key)
        found = as_date(value)
        if found is None:
            self.error(self.value_pos(node, key), "schema", f"期望 '{key}' 为日期 "
                       f"YYYY-MM-DD，实际为 {date_problem_text(value)}")
        return found

    def choice(self, node: Any, key: str, options: Sequence[str], code: str) -> str | None:
        value = self.text(node, key)
        if value is not None and value not in options:
            self.error(self.value_pos(node, key), code, f"期望 {key} 为 "
                       f"{'、'.join(options)} 之一，实际为 '{value}'", suggest(value, options))
            return None
        return value

    # ---- expressions ------------------------------------------------------------------

    def expr(self, node: Any, key: Any) -> ast.Expr | None:
        """Parse the scalar ``node[key]`` as an expression (not yet checked); a YAML list
        (a dated list parameter) becomes a list literal of its items."""
        value = node[key]
        pos = self.value_pos(node, key)
        if isinstance(value, CommentedSeq):
            items = [self.expr(value, i) for i in range(len(value))]
            if any(i is None for i in items):
                return None
            return ast.ListLit(items=tuple(i for i in items if i is not None), pos=pos)
        if isinstance(value, bool):
            return ast.Bool(value=value, pos=pos)
        if isinstance(value, int | float):
            return ast.Number(value=float(value), text=str(value), pos=pos)
        if isinstance(value, dt.date):
            return ast.Date(value=value, pos=pos)
        if not isinstance(value, str):
            self.error(pos, "schema", f"期望表达式，实际为 {type_word(value)}")
            return None
        line, column, indent = pos.line, pos.column, 0
        if isinstance(value, DoubleQuotedScalarString | SingleQuotedScalarString):
            column += 1
        elif isinstance(value, LiteralScalarString | FoldedScalarString):
            line += 1
            body = self.lines[line - 1] if line - 1 < len(self.lines) else ""
            indent = len(body) - len(body.lstrip(" "))
            column = indent + 1
        try:
            return parse_expr(str(value), line=line, column=column, indent=indent,
                              file=self.file)
        except PolicyError as err:
            self.problems.extend(err.problems)
            return None

    def checked(self, node: Any, key: Any, how: Callable[[Checker, ast.Expr], ast.Expr]
                ) -> ast.Expr | None:
        parsed = self.expr(node, key)
        if parsed is None or self.checker is None:
            return parsed
        return how(self.checker, parsed)

    def condition_expr(self, node: Any, key: Any) -> ast.Expr | None:
        return self.checked(node, key, lambda c, e: c.condition(e))

    def number_expr(self, node: Any, key: Any, what: str) -> ast.Expr | None:
        return self.checked(node, key, lambda c, e: c.number(e, what=what))

    # ---- parts ------------------------------------------------------------------------

    def parameters(self, node: Any, effective_from: dt.date | None) -> dict[str, Parameter]:
        raw = node.get("parameters")
        if raw is None:
            return {}
        if not isinstance(raw, CommentedMap):
            self.error(self.value_pos(node, "parameters"), "schema",
                       f"期望参数的映射，实际为 {type_word(raw)}")
            return {}
        out: dict[str, Parameter] = {}
        for name, body in raw.items():
            values: list[DatedValue] = []
            if not isinstance(body, CommentedMap):
                expr = self.expr(raw, name)
                dated = [(effective_from or dt.date.min, expr, self.value_pos(raw, name))]
            else:
                dated = [(k, self.expr(body, k), self.key_pos(body, k)) for k in body]
            for since, expr, pos in dated:
                if not isinstance(since, dt.date):
                    self.error(pos, "schema", f"期望参数 '{name}' 的键为生效日期 YYYY-MM-DD，"
                               f"实际为 {date_problem_text(since)}")
                elif expr is not None and not is_literal_value(expr):
                    self.error(expr.pos, "schema", f"期望参数 "
                               f"'{name}' 为字面值或字面值的列表，实际为 表达式")
                elif expr is not None:
                    if values and since <= values[-1].since:
                        self.error(pos, "unsorted-dates", f"期望参数 '{name}' 的日期按先后"
                                   f"排列且不重复，实际为 {values[-1].since} 之后的 {since}")
                    values.append(DatedValue(since=since, value=expr))
            values.sort(key=lambda d: d.since)
            out[str(name)] = Parameter(name=str(name), values=tuple(values))
        self.params = out  # a tier amount may name one of them (rules.dated_tables)
        return out

    def condition_tree(self, node: Any, key: Any, counter: list[int]) -> ConditionNode | None:
        raw = node[key]
        pos = self.value_pos(node, key)
        if isinstance(raw, str):
            self.error(pos, "missing-label", "期望带中文标签的条件 {when: …, label: …}，"
                       f"实际为 无标签的表达式 '{raw}'")
            return None
        if not isinstance(raw, CommentedMap):
            self.error(pos, "schema", f"期望条件的映射，实际为 {type_word(raw)}")
            return None
        label = self.text(raw, "label", required=False)
        if "when" in raw:
            self.only_keys(raw, ("when", "label", "clause", "id", "document"),
                           where="条件")
            counter[0] += 1
            expr = self.condition_expr(raw, "when")
            if label is None:
                self.error(self.key_pos(raw, "when"), "missing-label",
                           "期望条件有中文标签(label)，实际没有")
            cid = self.text(raw, "id", required=False) or f"c{counter[0]}"
            if expr is None:
                return None
            return Condition(id=cid, expr=expr, label=label or "", pos=self.node_pos(raw),
                             clause=self.text(raw, "clause", required=False),
                             document=self.text(raw, "document", required=False))
        group = [k for k in ("all", "any", "not") if k in raw]
        if len(group) != 1:
            self.error(self.node_pos(raw), "schema", "期望条件中恰有 when、all、any、"
                       f"not 之一，实际为 {', '.join(map(str, raw)) or '空'}")
            return None
        kind = group[0]
        self.only_keys(raw, (kind, "label", "clause"), where=f"'{kind}' 条件组")
        if kind == "not":
            child = self.condition_tree(raw, "not", counter)
            return None if child is None else NotOf(child=child, label=label,
                                                    pos=self.node_pos(raw))
        items = raw[kind]
        if not isinstance(items, CommentedSeq) or not items:
            self.error(self.value_pos(raw, kind), "schema",
                       f"期望 '{kind}' 下为非空列表，实际为 {type_word(items)}")
            return None
        children = [self.condition_tree(items, i, counter) for i in range(len(items))]
        kept = tuple(c for c in children if c is not None)
        if len(kept) != len(children):
            return None
        cls = AllOf if kind == "all" else AnyOf
        return cls(children=kept, label=label, pos=self.node_pos(raw))

    def amount(self, node: Any) -> Amount | None:
        raw = self.mapping(node, "amount", ("formula", "tiers", "cases", "period", "label",
                                            "kind"))
        if raw is None:
            return None
        period = raw.get("period")
        if period is None:
            self.error(self.key_pos(node, "amount"), "missing-period",
                       f"期望金额有发放周期 period({', '.join(PERIODS)})，实际没有")
        elif str(period) not in PERIODS:
            self.error(self.value_pos(raw, "period"), "bad-period", f"期望 period 为 "
                       f"{'、'.join(PERIODS)} 之一，实际为 '{period}'",
                       suggest(str(period), PERIODS))
        rule: AmountRule | None = None
        if "formula" in raw:
            expr = self.number_expr(raw, "formula", "金额公式")
            rule = None if expr is None else FormulaAmount(expr=expr)
        elif "tiers" in raw:
            rule = self.tiers(raw)
        elif "cases" in raw:
            rule = self.cases(raw)
        else:
            self.error(self.key_pos(node, "amount"), "schema",
                       "期望金额中有 formula、tiers、cases 之一，实际没有")
        kind = str(raw.get("kind", "cash"))
        if kind not in AMOUNT_KINDS:
            self.error(self.value_pos(raw, "kind"), "schema", f"期望金额种类为 "
                       f"{'、'.join(AMOUNT_KINDS)} 之一，实际为 '{kind}'",
                       suggest(kind, AMOUNT_KINDS))
            return None
        if rule is None or str(period) not in PERIODS:
            return None
        return Amount(rule=rule, period=str(period), label=self.text(raw, "label",  # type: ignore[arg-type]
                                                                     required=False),
                      kind=kind)

    def tiers(self, raw: CommentedMap) -> TierAmount | None:
        body = self.mapping(raw, "tiers", ("by", "table"))
        if body is not None and "by" in body and isinstance(body.get("table"), str):
            return self.dated_tiers(body)
        if body is None or "by" not in body or not isinstance(body.get("table"), CommentedSeq):
            if body is not None:
                self.error(self.value_pos(raw, "tiers"), "schema",
                           "期望 tiers 为 {by: 表达式, table: [[起点, 值], ...]}，实际不是")
            return None
        by = self.number_expr(body, "by", "分档依据")
        rows: list[Tier] = []
        table = body["table"]
        for i, row in enumerate(table):
            if not (isinstance(row, CommentedSeq) and len(row) == 2
                    and isinstance(row[0], int | float) and not isinstance(row[0], bool)
                    and math.isfinite(row[0])):
                self.error(self.value_pos(table, i), "schema",
                           f"期望分档行 [起点, 值]，实际为 {type_word(row)}")
                continue
            if rows and float(row[0]) <= rows[-1].from_:
                self.error(self.value_pos(table, i), "schema", f"期望分档行按起点"
                           f"升序，实际为 {rows[-1].from_:g} 之后的 {row[0]}")
            value = self.number_expr(row, 1, "分档值")
            if value is not None:
                rows.append(Tier(from_=float(row[0]), value=value))
        if by is None or len(rows) != len(table):
            return None
        return TierAmount(by=by, tiers=tuple(rows))

    def dated_tiers(self, body: CommentedMap) -> TierAmount | None:
        """``table: <parameter>``: a tier table per date, rewritten into one row per band
        whose amount is a dated parameter (:mod:`rules.dated_tables`)."""
        name = str(body["table"])
        pos = self.value_pos(body, "table")
        param = self.params.get(name)
        if param is None:
            self.error(pos, "unknown-field", f"期望 table 为分档表或按日期的分档表参数"
                       f"({', '.join(self.params) or '无参数'})，实际为 '{name}'",
                       suggest(name, list(self.params)))
            return None
        try:
            bands, cells = split_table(param)
        except TableShapeError as err:
            self.error(pos, "schema", str(err))
            return None
        by = self.number_expr(body, "by", "分档依据")
        for cell in cells:
            self.params[cell.name] = cell  # the same mapping the checker and policy hold
        rows = []
        for start, cell in zip(bands, cells, strict=True):
            ref: ast.Expr = ast.ParamRef(name=cell.name, pos=pos)
            if self.checker is not None:
                ref = self.checker.number(ref, what="分档值")
            rows.append(Tier(from_=start, value=ref))
        return None if by is None else TierAmount(by=by, tiers=tuple(rows))

    def cases(self, raw: CommentedMap) -> CaseAmount | None:
        items = raw["cases"]
        if not isinstance(items, CommentedSeq) or not items:
            self.error(self.value_pos(raw, "cases"), "schema",
                       f"期望 cases 为列表，实际为 {type_word(items)}")
            return None
        out: list[Case] = []
        ok = True
        for i, case in enumerate(items):
            if isinstance(case, CommentedMap) and "else" in case and i == len(items) - 1:
                value = self.number_expr(case, "else", "金额分支")
                when = None
            elif isinstance(case, CommentedMap) and {"when", "value"} <= set(case):
                when = self.condition_expr(case, "when")
                value = self.number_expr(case, "value", "金额分支")
                ok = ok and when is not None
            else:
                self.error(self.value_pos(items, i), "schema", "期望 {when: …, value: …} "
                           "或末尾的 {else: …}，实际为 " + type_word(case))
                ok = False
                continue
            if value is None:
                ok = False
            else:
                out.append(Case(when=when, value=value))
        return CaseAmount(cases=tuple(out)) if ok else None


def is_literal_value(expr: ast.Expr) -> bool:
    """What a parameter may hold: a literal, a list of literals (a dated list) or a tier
    table (rows [start, amount], :mod:`rules.dated_tables`)."""
    if is_table(expr):
        return True
    if isinstance(expr, ast.ListLit):
        return all(isinstance(i, ast.Number | ast.String | ast.Bool | ast.Date)
                   for i in expr.items)
    return isinstance(expr, ast.Number | ast.String | ast.Bool | ast.Date)


def type_word(value: object) -> str:
    if value is None:
        return "空值"
    if isinstance(value, CommentedMap):
        return "映射"
    if isinstance(value, CommentedSeq):
        return "列表"
    return f"'{value}'"
