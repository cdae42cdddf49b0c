"""One condition of the guided editor as ``field op value`` and back, through the rule
language's parser and printer: :func:`decompose` reads an expression into a row when it is
that simple, :func:`compose` writes the expression of a row.

>>> from profiles.catalog import load_catalog
>>> ecat = load_catalog().entity("enterprise")
>>> decompose("从业人数 <= 300", ecat)
('employees', '<=', '300')
>>> decompose('vat_taxpayer_type in ["一般纳税人", "小规模纳税人"]', ecat)
('vat_taxpayer_type', 'in', '一般纳税人、小规模纳税人')
>>> decompose("tech_staff / employees >= 10%", ecat) is None
True
>>> compose(ecat, "status", "=", "存续"), compose(ecat, "district", "in", "广州市")
('status = "存续"', 'district in 广州市')
>>> compose(ecat, "serious_dishonesty", "false", "")
'not serious_dishonesty'
>>> default_label(ecat, "annual_taxable_income", "<=", "300万")
'年度应纳税所得额不超过300万元'
"""

from __future__ import annotations

import re

from api.services.errors import InvalidPolicy
from profiles.catalog import EntityCatalog, Field
from rules import ast
from rules.errors import PolicyError
from rules.parser import parse_expr
from rules.printer import name_source, to_source
from rules.words import operator_word, operators_for, unit_word

_LITERALS = (ast.Number, ast.String, ast.Date, ast.Bool)
_LIST_SEPARATORS = re.compile(r"\s*[、,，;；]\s*")


def _literal_text(node: ast.Expr) -> str:
    if isinstance(node, ast.String):
        return node.value
    return to_source(node)


_LENIENT = re.compile(r"^\s*(`[^`]+`|[^\s<>=!`]+)\s*(<=|>=|!=|=|<|>)\s*(.+?)\s*$")


def _lenient(when: str, ecat: EntityCatalog) -> tuple[str, str, str] | None:
    """``field op anything``: a row whose value does not parse or resolve (三百, 300万元)
    stays a row, so the officer fixes the value where they typed it; the check reports it."""
    m = _LENIENT.match(when)
    if m is None:
        return None
    name, op, value = m.group(1).strip("`"), m.group(2), m.group(3)
    if name not in ecat:
        return None
    f = ecat.field(name)
    if op not in operators_for(f.type):
        return None
    if f.type == "str" and len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    return f.name, op, value


def decompose(when: str, ecat: EntityCatalog) -> tuple[str, str, str] | None:
    """(field name, operator code, value text) of a simple condition, else None.

    >>> from profiles.catalog import load_catalog
    >>> decompose("employees <= 三百", load_catalog().entity("enterprise"))
    ('employees', '<=', '三百')
    """
    try:
        expr = parse_expr(when)
    except PolicyError:
        return _lenient(when, ecat)

    def field_of(node: ast.Expr) -> Field | None:
        if isinstance(node, ast.FieldRef) and node.name in ecat:
            return ecat.field(node.name)
        return None

    if (f := field_of(expr)) is not None and f.type == "bool":
        return f.name, "true", ""
    if isinstance(expr, ast.Not) and (f := field_of(expr.item)) is not None and f.type == "bool":
        return f.name, "false", ""
    if isinstance(expr, ast.IsEmpty) and (f := field_of(expr.item)) is not None:
        return f.name, "is known" if expr.negated else "is empty", ""
    if isinstance(expr, ast.Compare) and (f := field_of(expr.left)) is not None and isinstance(
            expr.right, _LITERALS) and expr.op in operators_for(f.type):
        return f.name, expr.op, _literal_text(expr.right)
    if isinstance(expr, ast.Compare) and isinstance(expr.right, ast.FieldRef) and (
            expr.right.name not in ecat):
        return _lenient(when, ecat)  # a parameter, or a word that is not a value
    if isinstance(expr, ast.In) and (f := field_of(expr.item)) is not None:
        op = "not in" if expr.negated else "in"
        container = expr.container
        if isinstance(container, ast.ListLit) and all(
                isinstance(i, _LITERALS) for i in container.items):
            return f.name, op, "、".join(_literal_text(i) for i in container.items)
        if isinstance(container, ast.FieldRef) and container.name not in ecat:
            return f.name, op, container.name  # a named set or a region
    return None


def _value_source(f: Field, value: str, *, names: frozenset[str]) -> str:
    text = value.strip()
    if f.type == "str":
        return to_source(ast.String(value=text))
    if f.type == "bool":
        return "true" if text in ("true", "是") else "false"
    return text


def compose(ecat: EntityCatalog, field: str, op: str, value: str, *,
            names: frozenset[str] = frozenset()) -> str:
    """The expression of a row. ``names`` are set and region names (written bare after
    ``in``); any other value after ``in`` is a list of values separated by 、 or commas."""
    f = ecat.field(field)
    name = name_source(f.name)
    if op not in operators_for(f.type):
        raise InvalidPolicy([{"line": 1, "column": 1, "code": "bad-operator",
                              "suggestion": None, "message": f"“{f.label}”不能使用运算"
                              f"“{op}”；可用：{'、'.join(operators_for(f.type))}"}])
    if op == "true":
        return name
    if op == "false":
        return f"not {name}"
    if op in ("is empty", "is known"):
        return f"{name} {op}"
    if op in ("in", "not in"):
        text = value.strip()
        if text in names or (f.format in ("region_code", "industry_code")
                             and text and not _LIST_SEPARATORS.search(text)
                             and not text.isdigit()):
            return f"{name} {op} {name_source(text)}"
        items = [i for i in _LIST_SEPARATORS.split(text) if i]
        return f"{name} {op} [" + ", ".join(
            _value_source(f, i, names=names) for i in items) + "]"
    return f"{name} {op} {_value_source(f, value, names=names)}"


def default_label(ecat: EntityCatalog, field: str, op: str, value: str) -> str:
    """A Chinese label for a row the officer left without one."""
    f = ecat.field(field)
    label = f.label[2:] if f.label.startswith("是否") else f.label
    if op == "true":
        return label
    if op == "false":
        return ("未" + label) if label.startswith("列入") else ("不" + label)
    word = operator_word(op, field_type=f.type)
    unit = "" if value.endswith("%") or f.unit == "ratio" else unit_word(f.unit)
    return f"{label}{word}{value}{unit if value else ''}"
