"""From the text of a policy clause to draft conditions, by rules (offline, no model).

An officer pastes a clause ("年应纳税所得额不超过300万元、从业人数不超过300人"); each simple
condition in it becomes a :class:`Proposal` (a field of the catalog, an operator, a value and
the expression in the rule language) that the officer accepts or edits. The rules:

- **fields** are found by their Chinese label in the catalog, by the label's usual variants
  (年度 → 年, 是否健在 → 健在) and by a short list of synonyms (销售收入 → 营业收入);
- **operators** follow the wording of Chinese legal texts: 以上、以下、以内、不超过、不低于、
  达到、满 include the number itself, 超过、高于、低于、不足、不满 do not (民法典 第一千二百五十
  九条); "(不含)" after a number excludes it; for grades (一级残疾 is the most severe),
  "三级以上" means grades 1 to 3;
- **values** use the units of the rule language (300万, 2亿, 5.5%); a unit in the text (元, 人,
  个月, 周岁) must agree with the field's unit;
- a field with a list of values (登记状态: 存续 / 吊销 / 注销) is matched by the value, a region
  name (广州市) by the GB/T 2260 table, a named set by its name or label, another policy by
  its title (符合…条件 → ``eligible("id")``), a date (1933年1月1日以后出生) by the date field;
- negations (未列入, 不属于, 非) turn a condition around.

Every proposal is type-checked against the catalog before it is offered.

>>> [p.when for p in propose("年应纳税所得额不超过300万元、从业人数不超过300人、"
...                          "资产总额不超过5000万元", entity="enterprise")]
['annual_taxable_income <= 300万', 'employees <= 300', 'total_assets <= 5000万']
>>> [p.when for p in propose("上海市户籍，年满65周岁", entity="person")]
['hukou_district in 上海市', 'age >= 65']
>>> [p.when for p in propose("未列入严重失信主体名单", entity="enterprise")]
['not serious_dishonesty']
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Final

from profiles.catalog import EntityCatalog, Field, load_catalog
from profiles.regions import load_regions
from rules import ast
from rules.checker import Checker, Scope
from rules.errors import PolicyError
from rules.parser import parse_expr
from rules.printer import name_source
from rules.sets import NamedSets, bundled_sets


@dataclass(frozen=True, kw_only=True)
class Proposal:
    """A draft condition read from a clause: ``when`` is its expression; ``label`` the part of
    the clause it came from (``start``/``end`` index the normalised text)."""

    field: str
    field_label: str
    op: str
    value: str
    when: str
    label: str
    start: int
    end: int


# Synonyms of catalog fields in policy texts (beyond the labels themselves), by field name.
SYNONYMS: Final[dict[str, tuple[str, ...]]] = {
    "annual_taxable_income": ("应纳税所得额", "年应纳税所得额"),
    "employees": ("从业人员", "职工人数", "员工人数", "职工总数", "从业人员数"),
    "total_assets": ("总资产",),
    "operating_revenue": ("销售收入", "主营业务收入", "年销售额", "营业收入总额", "总收入"),
    "rd_expense": ("研究开发费用",),
    "rd_ratio": ("研发费用占比", "研究开发费用占比", "研发投入强度"),
    "tech_staff": ("科技人员",),
    "high_tech_revenue": ("高新技术产品收入",),
    "insured_employees": ("参保职工", "参保职工人数", "参保人数"),
    "ui_paid_months": ("连续足额缴纳失业保险", "缴纳失业保险费", "足额缴纳失业保险"),
    "layoffs_last_year": ("裁员人数",),
    "years_since_founding": ("注册成立", "成立满", "成立时间", "成立"),
    "age": ("年龄", "年满"),
    "children_under_3": ("3岁以下婴幼儿", "3岁以下子女"),
    "birth_date": ("出生",),
    "hukou_district": ("户籍", "户口"),
    "district": ("注册地", "注册在"),
}
# Phrases that are a whole condition.
PHRASES: Final[dict[str, tuple[str, str, str]]] = {
    "持有残疾人证": ("disability_grade", "is known", ""),
    "持有第二代残疾人证": ("disability_grade", "is known", ""),
    "未裁员": ("layoffs_last_year", "=", "0"),
    "无业": ("employed", "false", ""),
}
_NEGATIONS: Final = ("未", "不", "无", "没有", "非", "不属于", "不在", "不是")
_OP_BEFORE: Final[list[tuple[str, str]]] = sorted([
    ("不超过", "<="), ("不高于", "<="), ("不大于", "<="), ("不多于", "<="), ("未超过", "<="),
    ("小于等于", "<="), ("低于或等于", "<="), ("不低于", ">="), ("不少于", ">="),
    ("不小于", ">="), ("大于等于", ">="), ("高于或等于", ">="), ("达到", ">="), ("满", ">="),
    ("不足", "<"), ("不满", "<"), ("未满", "<"), ("低于", "<"), ("少于", "<"), ("小于", "<"),
    ("超过", ">"), ("高于", ">"), ("大于", ">"), ("多于", ">"), ("≤", "<="), ("≥", ">="),
    ("<=", "<="), (">=", ">="), ("<", "<"), (">", ">"), ("等于", "="), ("为", "="), ("是", "="),
    ("在", ""), ("达", ">="),
], key=lambda p: -len(p[0]))
_OP_AFTER: Final[list[tuple[str, str]]] = sorted([
    ("及以上", ">="), ("以上", ">="), ("及以下", "<="), ("以下", "<="), ("以内", "<="),
    ("之内", "<="), ("以外", ">"),
], key=lambda p: -len(p[0]))
_UNITS: Final[dict[str, str]] = {
    "元": "yuan", "人": "person", "名": "person", "个月": "month", "月": "month", "年": "year",
    "周岁": "year", "岁": "year", "%": "ratio", "级": "grade", "个": "child", "户": "",
}
_NUMBER = re.compile(r"(\d+(?:\.\d+)?)\s*(万|亿)?\s*(元|人|名|个月|月|周岁|岁|年|%|级|个|户)?"
                     r"\s*(\((?:不)?含\))?")
_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日\s*(以后|之后|以来|起|以前|之前|后|前)")
_CN_DIGITS: Final = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
                     "六": 6, "七": 7, "八": 8, "九": 9}
_CN_NUMBER = re.compile(r"([一二两三四五六七八九十〇零]{1,3})(?=周岁|岁|年|个月|级|人|倍|名)")
_SEPARATORS = re.compile(r"[、，,；;。\n]|并且|同时")


def _cn_value(text: str) -> int | None:
    if "十" in text:
        tens, _, ones = text.partition("十")
        t = _CN_DIGITS.get(tens, 1) if tens else 1
        o = _CN_DIGITS.get(ones, 0) if ones else 0
        return t * 10 + o
    digits = [_CN_DIGITS.get(c) for c in text]
    if any(d is None for d in digits):
        return None
    return int("".join(str(d) for d in digits))


def normalize(text: str) -> str:
    """Half-width digits, letters and brackets; small Chinese numerals before units as digits.

    >>> normalize("注册成立一年以上（含），比例５％")
    '注册成立1年以上(含),比例5%'
    """
    out = []
    for ch in text:
        code = ord(ch)
        if 0xFF01 <= code <= 0xFF5E:
            ch = chr(code - 0xFEE0)
        elif ch == "\u3000":
            ch = " "
        out.append(ch)
    plain = "".join(out)

    def digits(m: re.Match[str]) -> str:
        value = _cn_value(m.group(1))
        return m.group(1) if value is None else str(value)

    return _CN_NUMBER.sub(digits, plain)


@dataclass(frozen=True)
class _Mention:
    start: int
    end: int
    fields: tuple[Field, ...]
    negated: bool


class _Lexicon:
    """Surface words of one entity's fields, longest first."""

    def __init__(self, ecat: EntityCatalog) -> None:
        words: dict[str, list[Field]] = {}
        for f in ecat.fields:
            if f.personal or f.name in (ecat.key, "name", "business_scope") or f.name.endswith(
                    "_p"):
                continue
            for word in self._variants(f):
                words.setdefault(normalize(word), []).append(f)
        self.words = sorted(words.items(), key=lambda kv: -len(kv[0]))

    @staticmethod
    def _variants(f: Field) -> Iterator[str]:
        yield f.label
        if f.label.startswith("是否"):
            yield f.label[2:]
        if "年度" in f.label:
            yield f.label.replace("年度", "年")
        if f.type == "int" and f.label.endswith("人数") and len(f.label) > 6:
            yield f.label[:-2]  # 招用…毕业生 (人数): the count is at least one
        yield from SYNONYMS.get(f.name, ())

    def mentions(self, text: str) -> list[_Mention]:
        taken = [False] * len(text)
        found: list[_Mention] = []
        for word, fields in self.words:
            for m in re.finditer(re.escape(word), text):
                if any(taken[m.start():m.end()]):
                    continue
                taken[m.start():m.end()] = [True] * (m.end() - m.start())
                before = text[max(0, m.start() - 3):m.start()]
                negated = any(before.endswith(n) for n in _NEGATIONS)
                found.append(_Mention(m.start(), m.end(), tuple(fields), negated))
        return sorted(found, key=lambda m: m.start)


def _value_text(number: str, scale: str | None, unit: str | None) -> str:
    return number + (scale or "") + ("%" if unit == "%" else "")


def _op_of(head: str, after: str, *, exclusive: bool, grade: bool) -> str | None:
    op = ""
    for word, code in _OP_BEFORE:
        if head.endswith(word):
            op = code
            break
    for word, code in _OP_AFTER:
        if after.startswith(word):
            op = code if op in ("", "=") else op
            break
    if not op or op == "":
        return None
    if exclusive and op in ("<=", ">="):
        op = op[0]
    if grade and op in ("<=", ">=", "<", ">"):  # 一级 is the most severe grade
        op = {"<=": ">=", ">=": "<=", "<": ">", ">": "<"}[op]
    return op


@dataclass
class _Context:
    ecat: EntityCatalog
    sets: NamedSets
    policies: Mapping[str, str]
    checker: Checker


def _check(ctx: _Context, when: str) -> bool:
    try:
        expr = parse_expr(when)
    except PolicyError:
        return False
    before = len(ctx.checker.problems)
    ctx.checker.condition(expr)
    ok = len(ctx.checker.problems) == before
    del ctx.checker.problems[before:]
    return ok


def _literal(f: Field, value: str) -> str:
    return f'"{value}"' if f.type == "str" else value


def _compose(f: Field, op: str, value: str) -> str:
    name = name_source(f.name)
    if op == "true":
        return name
    if op == "false":
        return f"not {name}"
    if op in ("is empty", "is known"):
        return f"{name} {op}"
    return f"{name} {op} {value}"


def _numeric(ctx: _Context, text: str, m: _Mention, tail: str, left: str | None
             ) -> tuple[Field, str, str, str] | None:
    """``field op number`` from the words after a numeric or date mention."""
    date = _DATE.search(text, max(0, m.start - 20)) if any(
        f.type == "date" for f in m.fields) else None
    if date is not None:
        f = next(f for f in m.fields if f.type == "date")
        word = date.group(4)
        op = {"以后": ">=", "之后": ">=", "以来": ">=", "起": ">=", "以前": "<=", "之前": "<=",
              "后": ">", "前": "<"}[word]
        try:
            day = dt.date(int(date.group(1)), int(date.group(2)), int(date.group(3)))
        except ValueError:
            return None
        return f, op, day.isoformat(), _compose(f, op, day.isoformat())
    number = _NUMBER.search(tail)
    if number is None or number.start() > 8:
        return None
    head = tail[:number.start()].strip()
    unit = number.group(3)
    dim = _UNITS.get(unit or "", None)
    candidates = [f for f in m.fields if f.is_numeric]
    if dim and left is None:
        matching = [f for f in candidates if (f.unit or "") == dim or (
            dim == "year" and f.unit == "year")]
        candidates = matching or [f for f in candidates if f.unit is None]
    if not candidates:
        return None
    f = candidates[0]
    after = tail[number.end():].lstrip()
    exclusive = (number.group(4) or "") == "(不含)"
    found = _op_of(head, after, exclusive=exclusive, grade=f.unit == "grade") or {
        "年满": ">=", "满": ">="}.get(text[m.start:m.end])
    if found is None:
        return None
    value = _value_text(number.group(1), number.group(2), unit)
    lhs = left or name_source(f.name)
    return f, found, value, f"{lhs} {found} {value}"


def _proposals_in(ctx: _Context, segment: str, offset: int, lexicon: _Lexicon
                  ) -> Iterator[Proposal]:
    label = segment.strip(" 的")
    mentions = lexicon.mentions(segment)
    used: set[int] = set()
    for phrase, (fname, op, value) in PHRASES.items():
        at = segment.find(phrase)
        if at >= 0 and fname in ctx.ecat:
            f = ctx.ecat.field(fname)
            used |= {i for i, m in enumerate(mentions) if m.start < at + len(phrase)
                     and m.end > at}
            yield _make(f, op, value, _compose(f, op, value), label, offset)
    for i, m in enumerate(mentions):
        if i in used:
            continue
        nxt = mentions[i + 1].start if i + 1 < len(mentions) else len(segment)
        tail = segment[m.end:nxt]
        head = segment[max(0, m.start - 4):m.start]
        first = m.fields[0]
        ratio = re.match(r"\s*占", tail)
        if ratio and i + 1 < len(mentions) and mentions[i + 1].fields[0].is_numeric:
            other = mentions[i + 1]
            rest = segment[other.end:mentions[i + 2].start if i + 2 < len(mentions)
                           else len(segment)]
            if re.match(r"\s*(的)?(比例|比重)", rest):
                left = f"{name_source(first.name)} / {name_source(other.fields[0].name)}"
                found = _numeric(ctx, segment, other, rest, left)
                used |= {i, i + 1}
                if found is not None:
                    f, op, value, when = found
                    yield _make(f, op, value, when, label, offset)
                continue
        if first.type == "bool":
            op = "false" if m.negated else "true"
            yield _make(first, op, "", _compose(first, op, ""), label, offset)
            continue
        if first.type == "str" and first.format == "region_code":
            continue  # regions are found by name below
        if first.is_numeric or first.type == "date":
            found = _numeric(ctx, segment, m, tail, None)
            if found is not None:
                f, op, value, when = found
                yield _make(f, op, value, when, label, offset)
            elif first.is_numeric and (head.endswith(("有", "发生", "取得")) or (
                    first.label.endswith("人数") and segment[m.start:m.end] == normalize(
                        first.label[:-2]))):
                op, value = (">", "0") if first.unit == "yuan" else (">=", "1")
                yield _make(first, op, value, _compose(first, op, value), label, offset)
    yield from _values(ctx, segment, offset, label)
    yield from _grades(ctx, segment, offset, label)
    yield from _regions(ctx, segment, offset, label)
    yield from _named(ctx, segment, offset, label)


def _make(f: Field, op: str, value: str, when: str, label: str, offset: int) -> Proposal:
    return Proposal(field=f.name, field_label=f.label, op=op, value=value, when=when,
                    label=label, start=offset, end=offset + len(label))


def _negated_at(segment: str, at: int) -> bool:
    before = segment[max(0, at - 4):at]
    return any(before.endswith(n) for n in _NEGATIONS) or segment[at:].startswith("以外")


def _names_in(ctx: _Context, segment: str) -> list[tuple[int, int]]:
    """Spans of policy titles and named-set labels: a value inside them is not a value."""
    words = [*ctx.policies.values(), *(s.label for s in ctx.sets.values()), *ctx.sets]
    return [(m.start(), m.end()) for w in words if w
            for m in re.finditer(re.escape(w), segment)]


def _values(ctx: _Context, segment: str, offset: int, label: str) -> Iterator[Proposal]:
    """Fields with a list of values, found by the value (增值税小规模纳税人, 存续)."""
    names = _names_in(ctx, segment)
    for f in ctx.ecat.fields:
        if not f.values or f.personal:
            continue
        hits = [(segment.find(v), v) for v in f.values if len(v) >= 2 and v in segment]
        hits = [(at, v) for at, v in hits if not any(s <= at < e for s, e in names)]
        hits = [(at, v) for at, v in hits
                if not any(v != w and v in w and w in segment for _, w in hits)]
        if not hits:
            continue
        hits.sort()
        negated = _negated_at(segment, hits[0][0])
        if len(hits) == 1:
            op, value = ("!=" if negated else "="), _literal(f, hits[0][1])
        else:
            op = "not in" if negated else "in"
            value = "[" + ", ".join(_literal(f, v) for _, v in hits) + "]"
        yield _make(f, op, value, _compose(f, op, value), label, offset)


_GRADE = re.compile(r"(\d)级(?:或(\d)级)?\s*(\((?:不)?含\))?\s*(以上|以下)?")


def _grades(ctx: _Context, segment: str, offset: int, label: str) -> Iterator[Proposal]:
    """Grades (一级残疾, 三级以上残疾): the grade field whose label shares most with the text."""
    m = _GRADE.search(segment)
    fields = [f for f in ctx.ecat.fields if f.unit == "grade"]
    if m is None or not fields:
        return

    def score(f: Field) -> int:
        stem = f.label.replace("等级", "")
        return sum(stem[i:i + 2] in segment for i in range(len(stem) - 1))

    f = max(fields, key=score)
    if score(f) == 0:
        return
    first, second, marker, direction = m.groups()
    if second:
        op, value = "in", f"[{first}, {second}]"
    elif direction:
        op = _op_of("", direction, exclusive=marker == "(不含)", grade=True) or "="
        value = first
    else:
        op, value = "=", first
    yield _make(f, op, value, _compose(f, op, value), label, offset)


@cache
def _region_names() -> list[str]:
    """Region names to look for in a clause, longest first: each region by the name that
    resolves to it alone, leaving out two-character names other than counties (东区 would be
    found in 广东区域)."""
    names = [n for n in load_regions().names if len(n) >= 3 or n.endswith("县")]
    return sorted(names, key=len, reverse=True)


def _regions(ctx: _Context, segment: str, offset: int, label: str) -> Iterator[Proposal]:
    fields = [f for f in ctx.ecat.fields if f.format == "region_code"]
    if not fields:
        return
    names = _region_names()
    taken: list[tuple[int, int]] = []
    for name in names:
        at = segment.find(name)
        if at < 0 or any(s <= at < e for s, e in taken):
            continue
        taken.append((at, at + len(name)))
        f = fields[0]
        op = "not in" if _negated_at(segment, at) else "in"
        yield _make(f, op, name, _compose(f, op, name_source(name)), label, offset)


def _named(ctx: _Context, segment: str, offset: int, label: str) -> Iterator[Proposal]:
    """Named sets (by name or label) and other policies (by title)."""
    industry = next((f for f in ctx.ecat.fields if f.format == "industry_code"), None)
    for name, named in ctx.sets.items():
        word = name if name in segment else named.label if named.label in segment else None
        if word is None or industry is None or named.kind != "industry_prefix":
            continue
        op = "not in" if _negated_at(segment, segment.find(word)) else "in"
        yield _make(industry, op, name, _compose(industry, op, name_source(name)), label,
                    offset)
    for pid, title in ctx.policies.items():
        if title and title in segment:
            when = f'eligible("{pid}")'
            if _negated_at(segment, segment.find(title)):
                when = f"not {when}"
            yield Proposal(field="", field_label=title, op="eligible", value=pid, when=when,
                           label=label, start=offset, end=offset + len(label))


def propose(text: str, *, entity: str, sets: NamedSets | None = None,
            policies: Mapping[str, str] | None = None) -> list[Proposal]:
    """Draft conditions for the clause ``text`` of an ``entity`` policy, in text order.

    ``policies`` maps the ids of other policies to their titles (for ``eligible(...)``);
    every proposal type-checks against the catalog.

    >>> [p.when for p in propose("注册成立一年以上，科技人员占职工总数的比例不低于10%",
    ...                          entity="enterprise")]
    ['years_since_founding >= 1', 'tech_staff / employees >= 10%']
    >>> [p.when for p in propose("增值税小规模纳税人，月销售额10万元以下", entity="enterprise")]
    ['vat_taxpayer_type = "小规模纳税人"', 'monthly_sales <= 10万']
    """
    ecat = load_catalog().entity(entity)
    sets = sets if sets is not None else bundled_sets()
    known = dict(policies or {})
    scope = Scope(entity=ecat, sets=sets, file="clause",
                  policies={pid: entity for pid in known})
    ctx = _Context(ecat=ecat, sets=sets, policies=known, checker=Checker(scope))
    lexicon = _lexicon(entity)
    plain = normalize(text)
    out: list[Proposal] = []
    seen: set[str] = set()
    start = 0
    for sep in [*_SEPARATORS.finditer(plain), None]:
        end = sep.start() if sep else len(plain)
        segment = plain[start:end]
        if segment.strip():
            for p in _proposals_in(ctx, segment, start, lexicon):
                if p.when not in seen and _check(ctx, p.when):
                    seen.add(p.when)
                    out.append(p)
        start = sep.end() if sep else end
    return out


_LEXICONS: dict[str, _Lexicon] = {}


def _lexicon(entity: str) -> _Lexicon:
    if entity not in _LEXICONS:
        _LEXICONS[entity] = _Lexicon(load_catalog().entity(entity))
    return _LEXICONS[entity]


def conjuncts(expr: ast.Expr) -> tuple[ast.Expr, ...]:
    """The top-level ``and`` parts of an expression.

    >>> [type(e).__name__ for e in conjuncts(parse_expr("a > 1 and b < 2"))]
    ['Compare', 'Compare']
    """
    if isinstance(expr, ast.And):
        return tuple(e for item in expr.items for e in conjuncts(item))
    return (expr,)
