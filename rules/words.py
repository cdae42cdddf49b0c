"""Chinese words for the operators and units of simple conditions (``field op value``), as
an officer reads and writes them: the guided editor shows them, the clause proposer
(:mod:`rules.proposals`) reads them.

An operator is named by a short code: the comparison operators of the language, ``in`` /
``not in``, ``is empty`` / ``is known``, and ``true`` / ``false`` for a bare boolean field
(``alive``, ``not serious_dishonesty``).

>>> operator_word("<=", field_type="int"), operator_word("<=", field_type="date")
('不超过', '不晚于')
>>> operator_word("=", field_type="str")
'为'
>>> operators_for("bool")
('true', 'false', 'is empty', 'is known')
>>> unit_word("yuan"), unit_word(None)
('元', '')
"""

from __future__ import annotations

from typing import Final

OPERATOR_WORDS: Final[dict[str, str]] = {
    "<=": "不超过",
    "<": "低于",
    ">=": "不低于",
    ">": "超过",
    "=": "等于",
    "!=": "不等于",
    "in": "属于",
    "not in": "不属于",
    "is empty": "为空",
    "is known": "不为空",
    "true": "是",
    "false": "否",
}
# Dates read better as earlier / later.
DATE_OPERATOR_WORDS: Final[dict[str, str]] = {
    "<=": "不晚于", "<": "早于", ">=": "不早于", ">": "晚于", "=": "为", "!=": "不为",
}
# Text values read better with 为 (登记状态为存续).
STRING_OPERATOR_WORDS: Final[dict[str, str]] = {"=": "为", "!=": "不为"}
UNIT_WORDS: Final[dict[str, str]] = {
    "yuan": "元", "person": "人", "month": "个月", "year": "年", "ratio": "%", "grade": "级",
    "child": "个",
}
_BY_TYPE: Final[dict[str, tuple[str, ...]]] = {
    "int": ("<=", "<", ">=", ">", "=", "!=", "in", "not in", "is empty", "is known"),
    "float": ("<=", "<", ">=", ">", "=", "!=", "is empty", "is known"),
    "date": ("<=", "<", ">=", ">", "=", "!=", "is empty", "is known"),
    "str": ("=", "!=", "in", "not in", "is empty", "is known"),
    "bool": ("true", "false", "is empty", "is known"),
}


def operators_for(field_type: str) -> tuple[str, ...]:
    """The operator codes that apply to a field of ``field_type`` (catalog type)."""
    return _BY_TYPE.get(field_type, ())


def operator_word(op: str, *, field_type: str = "") -> str:
    """The Chinese word for an operator code (dates: earlier / later)."""
    if field_type == "date" and op in DATE_OPERATOR_WORDS:
        return DATE_OPERATOR_WORDS[op]
    if field_type == "str" and op in STRING_OPERATOR_WORDS:
        return STRING_OPERATOR_WORDS[op]
    return OPERATOR_WORDS[op]


def unit_word(unit: str | None) -> str:
    """The Chinese unit shown after a value ('' when the field has none)."""
    return UNIT_WORDS.get(unit or "", "")
