"""Parse condition and amount expressions into :mod:`rules.ast` nodes.

Identifiers come out as :class:`~rules.ast.FieldRef` with the name as written; the checker
resolves them to fields, parameters, named sets or regions.

>>> e = parse_expr("从业人数 <= 300万")
>>> e.op, e.left.name, e.right.value
('<=', '从业人数', 3000000.0)
>>> e.right.pos
Pos(line=1, column=9)
>>> parse_expr("5.5%") == ast.Number(value=0.055, unit="ratio", text="5.5%")
True
>>> try:
...     parse_expr("x <", line=4, column=10)
... except PolicyError as err:
...     print(err.problems[0].line, err.problems[0].column, err.problems[0].message)
4 13 期望 数值、文本、日期、名称、'('、'[' 或 '-'，实际为 表达式结尾
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any, get_args

from lark import Lark, Token, Transformer, UnexpectedCharacters, UnexpectedInput, v_args
from lark.exceptions import UnexpectedToken, VisitError
from lark.tree import Meta

from rules import ast, years
from rules.errors import PolicyError, Problem
from rules.printer import to_source

_MULTIPLIERS = {"万": Decimal(10_000), "亿": Decimal(100_000_000), "%": Decimal("0.01")}
_TRUE = frozenset({"true", "是"})
_FALSE = frozenset({"false", "否"})
_AS_OF = frozenset({"as_of", "评估日"})
_ELIGIBLE = frozenset({"eligible", "符合"})
FUNCTIONS: tuple[str, ...] = get_args(ast.FuncName)
#: award-ledger functions (rules.ledger): written name -> what it becomes
LEDGER_FUNCTIONS: dict[str, str] = {
    "received": "received", "已领取": "received",
    "received_amount": "amount", "已领取金额": "amount",
    "first_time": "first_time", "首次": "first_time",
}
_WITHIN = frozenset({"within", "期间"})
#: Comparison operators as written -> the core operator (rules.ast.CompareOp).
COMPARE_WORDS: dict[str, str] = {
    "==": "=", "≤": "<=", "≥": ">=", "≠": "!=",
    "不超过": "<=", "不高于": "<=", "不大于": "<=", "不多于": "<=",
    "不低于": ">=", "不少于": ">=", "不小于": ">=", "不等于": "!=",
    "超过": ">", "高于": ">", "大于": ">", "多于": ">",
    "低于": "<", "少于": "<", "小于": "<", "等于": "=",
    "不足": "<", "未满": "<",
}
#: Bounds written after the value (``x 在 300万 以下``, ``x 60以上``) -> the core operator of
#: ``x op value``; the bound is included (以上、以下、以内 include it, 不足、未满 do not).
BOUND_WORDS: dict[str, str] = {"以上": ">=", "以下": "<=", "以内": "<="}
#: Aggregates over related entities; ``any``/``all`` are sugar over ``count``.
AGGREGATES: tuple[str, ...] = (*get_args(ast.AggFunc), "any", "all")

# How expected terminals are named in syntax errors (in this order).
_EXPECTED_NAMES: dict[str, str] = {
    "NUMBER": "数值",
    "DURATION": "数值",
    "STRING": "文本",
    "DATE": "日期",
    "NAME": "名称",
    "QUOTED_NAME": "名称",
    "COMP_OP": "比较运算符",
    "LPAR": "'('",
    "LSQB": "'['",
    "MINUS": "'-'",
    "RPAR": "')'",
    "RSQB": "']'",
    "COMMA": "','",
    "_AND": "'and'",
    "_AND_ZH": "'且'",
    "_OR_ZH": "'或'",
    "_NOT": "'not'",
    "_NOT_ZH": "'非'",
    "_EMPTY": "'empty'",
    "_KNOWN": "'known'",
    "_EMPTY_ZH": "'为空'",
    "_KNOWN_ZH": "'已知'",
    "_OR": "'or'",
    "_WHERE": "'where'",
    "_WHERE_ZH": "'其中'",
    "DOT": "'.'",
    "_IN": "'in'",
    "_BETWEEN": "'between'",
    "_BETWEEN_ZH": "'介于'",
    "_WITH_ZH": "'和'",
    "_BETWEEN_END_ZH": "'之间'",
    "_AT_ZH": "'在'",
    "BOUND_WORD": "'以上'、'以下' 或 '以内'",
    "_IS": "'is'",
    "PLUS": "'+'",
    "STAR": "'*'",
    "SLASH": "'/'",
}


class _Offset:
    """Maps a position inside the expression text to a position in the policy file."""

    def __init__(self, line: int, column: int, indent: int) -> None:
        self.line = line
        self.column = column
        self.indent = indent

    def pos(self, line: int, column: int) -> ast.Pos:
        if line == 1:
            return ast.Pos(self.line, self.column + column - 1)
        return ast.Pos(self.line + line - 1, self.indent + column)


def _problem(file: str, pos: ast.Pos, code: str, message: str) -> PolicyError:
    return PolicyError([Problem(file=file, line=pos.line, column=pos.column, code=code,
                                message=message)])


def parse_number(text: str) -> ast.Number:
    """A number literal with an optional Chinese unit or percent sign.

    >>> parse_number("300万").value, parse_number("2亿").value, parse_number("3_000_000").value
    (3000000.0, 200000000.0, 3000000.0)
    """
    digits = text.replace("_", "")
    unit: str | None = None
    mult = Decimal(1)
    if digits and digits[-1] in _MULTIPLIERS:
        mult = _MULTIPLIERS[digits[-1]]
        unit = "ratio" if digits[-1] == "%" else None
        digits = digits[:-1]
    return ast.Number(value=float(Decimal(digits) * mult), unit=unit, text=text)


@v_args(meta=True)
class _ToAst(Transformer[Token, ast.Expr]):
    def __init__(self, offset: _Offset, file: str) -> None:
        super().__init__()
        self.offset = offset
        self.file = file

    def _pos(self, meta: Meta | Token) -> ast.Pos:
        return self.offset.pos(meta.line or 0, meta.column or 0)

    def number(self, meta: Meta, children: list[Token]) -> ast.Expr:
        num = parse_number(str(children[0]))
        if not math.isfinite(num.value):
            raise _problem(self.file, self._pos(meta), "syntax-error",
                           f"期望有限的数值，实际为 {children[0]}(超出可表示的范围)")
        return ast.Number(value=num.value, unit=num.unit, text=num.text, pos=self._pos(meta))

    def duration(self, meta: Meta, children: list[Token]) -> ast.Expr:
        text = str(children[0])
        digits = text.rstrip("yearsmonth个月年 \t")
        unit = "month" if ("month" in text or "月" in text) else "year"
        return ast.Number(value=float(int(digits)), unit=unit, text=text, pos=self._pos(meta))

    def _ledger(self, fname: str, args: tuple[ast.Expr, ...], pos: ast.Pos) -> ast.Expr:
        """``received("p")``, ``received_amount("p", within = 3 years)`` and the sugar
        ``first_time("p")`` (= ``not received("p")``), rewritten to the core
        :class:`~rules.ast.LedgerRef`."""
        kind = LEDGER_FUNCTIONS[fname]
        if not args or not isinstance(args[0], ast.String) or len(args) > 2:
            raise _problem(self.file, pos, "syntax-error", f"expected {fname}(\"policy-id\") "
                           f"or {fname}(\"policy-id\", within = 3 years), got "
                           f"{len(args)} argument(s)")
        months: int | None = None
        if len(args) == 2:
            w = args[1]
            if not (isinstance(w, ast.Compare) and w.op == "="
                    and isinstance(w.left, ast.FieldRef) and w.left.name in _WITHIN
                    and isinstance(w.right, ast.Number) and w.right.unit in ("year", "month")):
                raise _problem(self.file, w.pos, "syntax-error", "expected a window like "
                               "`within = 3 years` or `within = 6 months` as the second "
                               "argument of " + fname)
            months = int(w.right.value) * (12 if w.right.unit == "year" else 1)
            if months <= 0:
                raise _problem(self.file, w.pos, "syntax-error",
                               f"expected a window of at least one month, got {w.right.text}")
        ref = ast.LedgerRef(kind="amount" if kind == "amount" else "received",
                            policy_id=args[0].value, within_months=months, pos=pos)
        return ast.Not(item=ref, pos=pos) if kind == "first_time" else ref

    def string(self, meta: Meta, children: list[Token]) -> ast.Expr:
        return ast.String(value=str(children[0])[1:-1], pos=self._pos(meta))

    def date(self, meta: Meta, children: list[Token]) -> ast.Expr:
        try:
            value = dt.date.fromisoformat(str(children[0]))
        except ValueError:
            raise _problem(self.file, self._pos(meta), "syntax-error",
                           f"期望有效的日期 YYYY-MM-DD，实际为 '{children[0]}'") from None
        return ast.Date(value=value, pos=self._pos(meta))

    def name(self, meta: Meta, children: list[Token]) -> ast.Expr:
        tok = children[0]
        pos = self._pos(meta)
        if tok.type == "QUOTED_NAME":
            written = str(tok)[1:-1]
            return ast.FieldRef(name=written, written=written, pos=pos)
        text = str(tok)
        if text in _TRUE or text in _FALSE:
            return ast.Bool(value=text in _TRUE, pos=pos)
        if text in _AS_OF:
            return ast.AsOf(pos=pos)
        return ast.FieldRef(name=text, written=text, pos=pos)

    def list_lit(self, meta: Meta, children: list[Any]) -> ast.Expr:
        items = tuple(c for c in children if c is not None)
        return ast.ListLit(items=items, pos=self._pos(meta))

    def path(self, meta: Meta, children: list[Token]) -> ast.Expr:
        """``spouse.age``: navigation, sugar for ``max`` over a relation of at most one
        member (the checker refuses a relation of many)."""
        parts = [str(c) for c in children]
        pos = self._pos(meta)
        last = children[-1]
        return ast.Aggregate(func="max", relation=".".join(parts[:-1]),
                             value=ast.FieldRef(name=parts[-1], written=parts[-1],
                                                pos=self._pos(last)),
                             written=".".join(parts), pos=pos)

    def call_where(self, meta: Meta, children: list[Any]) -> ast.Expr:
        fname, over, where = str(children[0]), children[1], children[2]
        pos = self._pos(meta)
        if fname not in AGGREGATES:
            raise _problem(self.file, pos, "syntax-error",
                           f"期望 'where' 只用在 {'、'.join(AGGREGATES)}() 中，"
                           f"实际为 {fname}(... where ...)")
        return self._aggregate(fname, over, where, pos)

    def _aggregate(self, fname: str, over: ast.Expr, where: ast.Expr | None,
                   pos: ast.Pos) -> ast.Expr:
        """An aggregate, with ``any``/``all`` rewritten to the core ``count``."""
        if fname in ("count", "any", "all"):
            if isinstance(over, ast.FieldRef):
                relation = over.name
            elif isinstance(over, ast.Aggregate) and over.written and over.where is None:
                relation = over.written
            else:
                raise _problem(self.file, over.pos, "syntax-error",
                               f"期望 {fname}() 中为关系，如 household.members 或 "
                               f"hires，实际为 {type(over).__name__.lower()}")
            if fname == "all":
                if where is None:
                    raise _problem(self.file, pos, "syntax-error",
                                   "期望 all(关系 where 条件)，实际没有 'where'")
                count = ast.Aggregate(func="count", relation=relation,
                                      where=ast.Not(item=where, pos=where.pos), pos=pos)
                return ast.Compare(op="=", left=count, right=ast.Number(value=0, text="0"),
                                   pos=pos)
            count = ast.Aggregate(func="count", relation=relation, where=where, pos=pos)
            if fname == "any":
                return ast.Compare(op=">=", left=count, right=ast.Number(value=1, text="1"),
                                   pos=pos)
            return count
        if not (isinstance(over, ast.Aggregate) and over.written and over.value is not None):
            raise _problem(self.file, over.pos, "syntax-error",
                           f"期望 {fname}() 中为 关系.字段，如 "
                           f"{fname}(hires.wage_base)，实际为 {type(over).__name__.lower()}")
        return ast.Aggregate(func=fname, relation=over.relation, value=over.value,  # type: ignore[arg-type]
                             where=where, pos=pos)

    def year_value(self, meta: Meta, children: list[Any]) -> ast.Expr:
        """``营业收入[year(as_of) - 1]``: a yearly field in one accounting year."""
        name, year = children
        if not isinstance(name, ast.FieldRef):
            raise _problem(self.file, self._pos(meta), "syntax-error",
                           f"期望 '[' 前为按年度记录的字段，实际为 {to_source(name)}")
        return ast.YearValue(field=name.name, year=year, written=name.written,
                             pos=self._pos(meta))

    def call(self, meta: Meta, children: list[Any]) -> ast.Expr:
        fname = str(children[0])
        args = tuple(c for c in children[1:] if c is not None)
        pos = self._pos(meta)
        if years.is_window_call(fname, args):
            try:
                return years.window(fname, args, pos)
            except years.WindowError as err:
                raise _problem(self.file, pos, "syntax-error", str(err)) from None
        if fname in AGGREGATES and len(args) == 1 and (
                fname not in FUNCTIONS or isinstance(args[0], ast.Aggregate)):
            return self._aggregate(fname, args[0], None, pos)
        if fname in _ELIGIBLE:
            if len(args) != 1 or not isinstance(args[0], ast.String):
                raise _problem(self.file, pos, "syntax-error",
                               f"期望 {fname}(\"政策id\") 带一个加引号的政策 id，"
                               f"实际为 {len(args)} 个参数")
            return ast.PolicyRef(policy_id=args[0].value, pos=pos)
        if fname in LEDGER_FUNCTIONS:
            return self._ledger(fname, args, pos)
        if fname not in FUNCTIONS:
            raise _problem(self.file, pos, "unknown-function",
                           f"期望 {'、'.join(FUNCTIONS)}、eligible 之一，实际为 '{fname}'")
        wanted = {"abs": 1, "year": 1, "years_since": 1, "months_since": 1, "add_years": 2,
                  "add_months": 2}.get(fname)
        if (wanted is not None and len(args) != wanted) or not args:
            raise _problem(self.file, pos, "syntax-error",
                           f"期望 {fname}() 有 {wanted or '至少 1'} 个参数，"
                           f"实际为 {len(args)} 个")
        return ast.Call(func=fname, args=args, pos=pos)  # type: ignore[arg-type]

    def _comparison(self, op: str, left: Any, right: Any, pos: ast.Pos) -> ast.Expr:
        """One core comparison; min/max over yearly values compared with a value become
        one comparison per year (rules.years)."""
        return years.decide_extreme(ast.Compare(
            op=COMPARE_WORDS.get(op, op), left=left, right=right, pos=pos))  # type: ignore[arg-type]

    def compare(self, meta: Meta, children: list[Any]) -> ast.Expr:
        """``a op b``; a chain ``a op b op c`` (a range, ``0 < x <= 300万``) is sugar for
        ``a op b and b op c``. Symbols and Chinese words (``不超过``) become the core ops."""
        operands, ops = children[0::2], children[1::2]
        pos = self._pos(meta)
        pairs = [self._comparison(str(op), left, right, pos)
                 for left, op, right in zip(operands, ops, operands[1:], strict=False)]
        return pairs[0] if len(pairs) == 1 else ast.And(items=tuple(pairs), pos=pos)

    def bound_compare(self, meta: Meta, children: list[Any]) -> ast.Expr:
        """``x 在 300万 以下`` / ``x 300万以下``: sugar for ``x <= 300万`` (以上 ``>=``,
        以下 and 以内 ``<=``)."""
        item, bound, word = (c for c in children if not (isinstance(c, Token)
                                                          and c.type == "_AT_ZH"))
        if isinstance(bound, Token):  # x 300万以下: the number token itself
            bound = dataclasses.replace(parse_number(str(bound)), pos=self._pos(bound))
        return self._comparison(BOUND_WORDS[str(word)], item, bound, self._pos(meta))

    def between(self, meta: Meta, children: list[Any]) -> ast.Expr:
        """``x between a and b`` / ``x 介于 a 和 b 之间``: sugar for ``a <= x and x <= b``."""
        item, low, high = (c for c in children if not isinstance(c, Token))
        pos = self._pos(meta)
        return ast.And(items=(self._comparison("<=", low, item, pos),
                              self._comparison("<=", item, high, pos)), pos=pos)

    def in_(self, meta: Meta, children: list[Any]) -> ast.Expr:
        return ast.In(item=children[0], container=children[1], pos=self._pos(meta))

    def not_in(self, meta: Meta, children: list[Any]) -> ast.Expr:
        return ast.In(item=children[0], container=children[1], negated=True,
                      pos=self._pos(meta))

    def is_empty(self, meta: Meta, children: list[Any]) -> ast.Expr:
        return ast.IsEmpty(item=children[0], pos=self._pos(meta))

    def is_known(self, meta: Meta, children: list[Any]) -> ast.Expr:
        return ast.IsEmpty(item=children[0], negated=True, pos=self._pos(meta))

    def not_(self, meta: Meta, children: list[Any]) -> ast.Expr:
        return ast.Not(item=children[0], pos=self._pos(meta))

    def and_expr(self, meta: Meta, children: list[Any]) -> ast.Expr:
        return ast.And(items=tuple(children), pos=self._pos(meta))

    def or_expr(self, meta: Meta, children: list[Any]) -> ast.Expr:
        return ast.Or(items=tuple(children), pos=self._pos(meta))

    def _arith(self, op: ast.ArithOp, meta: Meta, children: list[Any]) -> ast.Expr:
        return ast.Arith(op=op, left=children[0], right=children[1], pos=self._pos(meta))

    def add(self, meta: Meta, children: list[Any]) -> ast.Expr:
        return self._arith("+", meta, children)

    def sub(self, meta: Meta, children: list[Any]) -> ast.Expr:
        return self._arith("-", meta, children)

    def mul(self, meta: Meta, children: list[Any]) -> ast.Expr:
        return self._arith("*", meta, children)

    def div(self, meta: Meta, children: list[Any]) -> ast.Expr:
        return self._arith("/", meta, children)

    def neg(self, meta: Meta, children: list[Any]) -> ast.Expr:
        return ast.Neg(item=children[0], pos=self._pos(meta))


@cache
def _lark() -> Lark:
    text = resources.files("rules").joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(text, parser="lalr", propagate_positions=True, maybe_placeholders=True)


def _expected(names: set[str]) -> str:
    seen: list[str] = []
    for key, label in _EXPECTED_NAMES.items():
        if key in names and label not in seen:
            seen.append(label)
    seen += sorted(n for n in names if n not in _EXPECTED_NAMES and not n.startswith("$"))
    if not seen:
        return "表达式结尾"
    return seen[0] if len(seen) == 1 else "、".join(seen[:-1]) + " 或 " + seen[-1]


def _syntax_problem(err: UnexpectedInput, text: str, offset: _Offset, file: str) -> PolicyError:
    if isinstance(err, UnexpectedToken) and err.token.type == "$END":
        lines = text.split("\n")
        line, column = len(lines), len(lines[-1].rstrip()) + 1
        got = "表达式结尾"
        expected = _expected(set(err.expected))
    elif isinstance(err, UnexpectedToken):
        line, column = err.line, err.column
        got = f"'{err.token}'"
        expected = _expected(set(err.expected))
    elif isinstance(err, UnexpectedCharacters):
        line, column = err.line, err.column
        got = f"'{text.split(chr(10))[line - 1][column - 1]}'"
        expected = _expected(set(err.allowed or ()))
    else:  # pragma: no cover - lark has no other kinds for LALR
        line, column, got, expected = err.line, err.column, "无效输入", "表达式"
    pos = offset.pos(line, column)
    return _problem(file, pos, "syntax-error", f"期望 {expected}，实际为 {got}")


def parse_expr(
    text: str, *, line: int = 1, column: int = 1, indent: int = 0, file: str = "<expr>"
) -> ast.Expr:
    """Parse one expression. ``line``/``column`` say where ``text`` starts in ``file`` and
    ``indent`` how far its further lines are indented there, so that positions of nodes and
    errors point into the policy file."""
    offset = _Offset(line, column, indent)
    try:
        tree = _lark().parse(text)
        result = _ToAst(offset, file).transform(tree)
    except UnexpectedInput as err:
        raise _syntax_problem(err, text, offset, file) from None
    except VisitError as err:
        if isinstance(err.orig_exc, PolicyError):
            raise err.orig_exc from None
        if isinstance(err.orig_exc, RecursionError):
            raise _too_deep(file, offset) from None
        raise
    except RecursionError:
        raise _too_deep(file, offset) from None
    return result


def _too_deep(file: str, offset: _Offset) -> PolicyError:
    return _problem(file, offset.pos(1, 1), "syntax-error",
                    "期望较短的表达式，实际表达式过长或括号嵌套过深；请拆成几个条件")
