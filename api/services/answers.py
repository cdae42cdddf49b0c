"""An applicant's answers, checked against the catalog: the field's type, range and allowed
values, with a Chinese message that says what was expected and what came.

Numbers may carry the Chinese units the policy language knows (``3.5万``, ``2亿``; read by the
rule parser, so an answer reads as a number in a policy does); thousands separators are
allowed; anything else (``三个``, ``12人``) is refused, never guessed. Money is exact to the fen.

>>> from api.delivery import field_infos
>>> [hires] = field_infos("enterprise", ["graduate_hires"])
>>> parse_answer(hires, "3")
3
>>> try:
...     parse_answer(hires, "-5")
... except AnswerError as exc:
...     print(exc.problem)
不能为负数
>>> try:
...     parse_answer(hires, "三个")
... except AnswerError as exc:
...     print(exc.problem)
应为整数（如 12，也可写 1.2万）
>>> [revenue] = field_infos("enterprise", ["operating_revenue"])
>>> parse_answer(revenue, "3.5万"), parse_answer(revenue, "1,234.56")
(35000.0, 1234.56)
>>> [founded] = field_infos("enterprise", ["founded_on"])
>>> parse_answer(founded, "2025-02-30")
Traceback (most recent call last):
...
api.services.answers.AnswerError: 成立日期：不是存在的日期，收到“2025-02-30”
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from notifier.model import FieldInfo

_UNITS = {"万": Decimal(10_000), "亿": Decimal(100_000_000)}
_NUMBER = re.compile(r"^-?\d+(\.\d+)?(万|亿)?$")
_CN_DATE = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$")
_TRUE = {"true", "是", "1", "yes", "y"}
_FALSE = {"false", "否", "0", "no", "n"}


class AnswerError(ValueError):
    """An answer that does not fit its field; ``field`` names it, the message says why."""

    def __init__(self, field: FieldInfo, problem: str, got: object) -> None:
        self.field = field.name
        self.label = field.label
        self.problem = problem
        super().__init__(f"{field.label}：{problem}，收到“{got}”")


def _number(text: str, field: FieldInfo) -> Decimal:
    cleaned = text.replace(",", "").replace("，", "").replace(" ", "")
    if field.unit == "yuan":
        cleaned = cleaned.removesuffix("元")
    if not _NUMBER.match(cleaned):
        kind = "整数（如 12，也可写 1.2万）" if field.type == "int" else "数字（如 3.5万、1234.56）"
        raise AnswerError(field, f"应为{kind}", text)
    from rules.parser import parse_expr  # the policy language's numbers, one definition

    parse_expr(cleaned.lstrip("-"))
    unit = _UNITS.get(cleaned[-1], Decimal(1))
    digits = cleaned.rstrip("万亿")
    try:
        return Decimal(digits) * unit
    except InvalidOperation:
        raise AnswerError(field, "应为数字", text) from None


def parse_answer(field: FieldInfo, raw: object) -> object:
    """The typed value of one answer, or AnswerError (None and "" are refused: the field is
    what the application asks for)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise AnswerError(field, "不能为空", "")
    text = str(raw).strip()
    if field.type == "bool":
        if isinstance(raw, bool):
            return raw
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise AnswerError(field, "应为“是”或“否”", text)
    if field.type == "date":
        m = _CN_DATE.match(text)
        if m:
            text = f"{int(m[1]):04d}-{int(m[2]):02d}-{int(m[3]):02d}"
        if not re.match(r"^\d{4}-\d{2}-\d{2}$", text):
            raise AnswerError(field, "应为日期（如 2025-06-30）", raw)
        try:
            return dt.date.fromisoformat(text).isoformat()
        except ValueError:
            raise AnswerError(field, "不是存在的日期", raw) from None
    if field.type in ("int", "float"):
        value = _number(text, field) if not isinstance(raw, int | float) else Decimal(str(raw))
        if field.min is not None and value < Decimal(str(field.min)):
            problem = "不能为负数" if field.min == 0 else f"不能小于 {field.min:g}"
            raise AnswerError(field, problem, text)
        if field.max is not None and value > Decimal(str(field.max)):
            raise AnswerError(field, f"不能大于 {field.max:g}", text)
        if field.type == "int":
            if value != value.to_integral_value():
                raise AnswerError(field, "应为整数", text)
            return int(value)
        if field.unit == "yuan" and value != value.quantize(Decimal("0.01")):
            raise AnswerError(field, "金额最多两位小数（精确到分）", text)
        return float(value)
    if field.values and text not in field.values:
        raise AnswerError(field, f"应为{'、'.join(field.values)}之一", text)
    if len(text) > 500:
        raise AnswerError(field, "不能超过 500 字", text[:20] + "…")
    return text


def parse_answers(fields: Mapping[str, FieldInfo],
                  raw: Mapping[str, object]) -> tuple[dict[str, object], dict[str, str]]:
    """Every answer typed, and the problems by field name (Chinese messages)."""
    values: dict[str, object] = {}
    problems: dict[str, str] = {}
    for name, field in fields.items():
        try:
            values[name] = parse_answer(field, raw.get(name))
        except AnswerError as exc:
            problems[name] = str(exc)
    return values, problems
