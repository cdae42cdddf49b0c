"""Read the YAML of policy and set files so that nothing in a file raises anything but a
located :class:`rules.errors.PolicyError`.

The round-trip loader is kept (positions of every node), with two changes:

- a date-shaped scalar that is no date of the calendar (``2025-02-30``) is read as the text
  :class:`ImpossibleDate` instead of raising ``ValueError`` from ``datetime``; the reader of
  the field then reports it at its line and column (:func:`date_problem_text`);
- any other error raised while a node's value is built (an explicit ``!!int abc``, …) is
  re-raised as a YAML error at that node's position.

>>> data, _ = read_yaml_text("effective: {from: 2025-02-30}\\n", file="p.yaml")
>>> value = data["effective"]["from"]
>>> isinstance(value, ImpossibleDate), str(value)
(True, '2025-02-30')
>>> try:
...     read_yaml_text("a: !!int abc\\n", file="p.yaml")
... except PolicyError as err:
...     print(err.problems[0])
p.yaml:1:4: [yaml-error] 期望合法的 YAML，实际为 无法读取的值 'abc' (!!int)
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import ConstructorError, RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import ScalarNode

from rules.errors import PolicyError, Problem

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class ImpossibleDate(str):
    """A scalar written as a date that the calendar does not have (``2025-02-30``)."""

    __slots__ = ()


class _Constructor(RoundTripConstructor):
    def construct_yaml_timestamp(self, node: Any, values: Any = None) -> Any:
        try:
            return super().construct_yaml_timestamp(node, values)
        except (ValueError, OverflowError):
            return ImpossibleDate(str(node.value))

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (MarkedYAMLError, RecursionError):
            raise
        except Exception as err:  # every value error becomes a located one
            tag = str(node.tag).rsplit(":", 1)[-1]
            shown = (f"'{node.value}' (!!{tag})" if isinstance(node, ScalarNode)
                     else f"!!{tag} ({type(err).__name__})")
            raise ConstructorError(None, None, f"无法读取的值 {shown}",
                                   node.start_mark) from None


_Constructor.add_constructor(_TIMESTAMP_TAG, _Constructor.construct_yaml_timestamp)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    yaml.preserve_quotes = True
    return yaml


def _problem(file: str, line: int, column: int, message: str) -> PolicyError:
    return PolicyError([Problem(file=file, line=line, column=column, code="yaml-error",
                                message=message)])


#: Deepest nesting of flow collections ("[[[…") and of indentation read; deeper documents are
#: refused before parsing (the YAML library would otherwise recurse until Python's limit,
#: slowly). Policy files nest a few levels.
MAX_DEPTH = 64


def _too_deep(text: str) -> tuple[int, int] | None:
    """(line, column) where ``text`` first nests deeper than :data:`MAX_DEPTH`, else None."""
    depth = 0
    for lineno, line in enumerate(text.split("\n"), start=1):
        indent = len(line) - len(line.lstrip(" -"))
        if indent > 2 * MAX_DEPTH:
            return lineno, 2 * MAX_DEPTH + 1
        for col, ch in enumerate(line, start=1):
            if ch in "[{":
                depth += 1
                if depth > MAX_DEPTH:
                    return lineno, col
            elif ch in "]}":
                depth = max(0, depth - 1)
    return None


_YAML_PROBLEMS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"expected (.+), but got '<stream end>'"), r"文件已结束，缺少 \1"),
    (re.compile(r"expected (.+), but got (.+)"), r"此处应为 \1，却是 \2"),
    (re.compile(r"but found another document"), "第二个 YAML 文档(一个文件只写一项政策)"),
    (re.compile(r"found character '\\t' that cannot start any token"),
     "制表符(缩进请用空格)"),
    (re.compile(r"found character (.+) that cannot start any token"), r"不能出现在此处的字符 \1"),
    (re.compile(r"found duplicate key \"?(.+?)\"? with value .*"), r"重复的键 \1"),
    (re.compile(r"mapping values are not allowed here"), "此处不能写 '键: 值'(缺少缩进或引号?)"),
    (re.compile(r"could not find expected ':'"), "缺少 ':'"),
    (re.compile(r"found undefined alias (.+)"), r"未定义的锚点引用 \1"),
    (re.compile(r"found unexpected end of stream"), "文件意外结束(引号未闭合?)"),
    (re.compile(r"found unknown escape character (.+)"), r"未知的转义字符 \1"),
    (re.compile(r'failed to construct timestamp from "(.+)"'), r"无法读取的日期 '\1'"),
    (re.compile(r"(无法读取的值.*)"), r"\1"),
)


def yaml_problem_text(problem: str | None) -> str:
    """The YAML library's description of a syntax problem, in Chinese where it is a known one
    (the original text is kept otherwise).

    >>> yaml_problem_text("expected ',' or '}', but got '<stream end>'")
    "文件已结束，缺少 ',' 或 '}'"
    >>> yaml_problem_text("something new")
    'YAML 语法错误(something new)'
    """
    text = (problem or "").strip()
    for pattern, words in _YAML_PROBLEMS:
        if pattern.fullmatch(text):
            return pattern.sub(words, text).replace("' or '", "' 或 '")
    return f"YAML 语法错误({text})"


def read_yaml_text(text: str, *, file: str) -> tuple[Any, str]:
    """The round-trip document of ``text`` and the text itself; every problem located."""
    deep = _too_deep(text)
    if deep is not None:
        raise _problem(file, *deep, f"期望嵌套不超过 {MAX_DEPTH} 层的 YAML，实际在此处超过")
    try:
        return _yaml().load(text), text
    except MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise _problem(file, line, col, "期望合法的 YAML，实际为 "
                       f"{yaml_problem_text(err.problem)}") from None
    except RecursionError:
        raise _problem(file, 1, 1, "期望合法的 YAML，实际为 嵌套过深的结构") from None
    except YAMLError as err:
        raise _problem(file, 1, 1, f"期望合法的 YAML，实际为 {err}") from None


def read_yaml_file(path: Path, *, file: str) -> tuple[Any, str]:
    """:func:`read_yaml_text` of a file; an unreadable or non-UTF-8 file is a problem too."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise _problem(file, 1, 1, f"期望 UTF-8 编码的文本文件，实际在第 {err.start + 1} "
                       "个字节处无法按 UTF-8 读取") from None
    except OSError as err:
        raise _problem(file, 1, 1, f"期望可读取的文件，实际为 {err.strerror or type(err).__name__}"
                       ) from None
    return read_yaml_text(text, file=file)


def position(node: Any, key: Any, *, of: str = "value") -> tuple[int, int]:
    """1-based (line, column) of ``node[key]`` (``of``: "key", "value" or "item"), or of
    ``node`` itself when the entry has no position of its own (a key brought in by a YAML
    merge ``<<: *anchor``), or (1, 1).

    >>> data, _ = read_yaml_text("a: &x {b: 1}\\nc:\\n  <<: *x\\n", file="p.yaml")
    >>> position(data, "c"), position(data["c"], "b")
    ((3, 3), (3, 3))
    """
    lc = getattr(node, "lc", None)
    if lc is not None:
        try:
            line, col = getattr(lc, of)(key)
            return line + 1, col + 1
        except (KeyError, IndexError, TypeError):
            pass
        if lc.line is not None:
            return lc.line + 1, lc.col + 1
    return 1, 1


def date_problem_text(value: object) -> str:
    """What was found where a date was expected, in words (for located problems).

    >>> date_problem_text(ImpossibleDate("2025-02-30"))
    "'2025-02-30'(日历上没有这一天)"
    >>> date_problem_text("明年")
    "'明年'"
    """
    if isinstance(value, ImpossibleDate):
        return f"'{value}'(日历上没有这一天)"
    return "空值" if value is None else f"'{value}'"


def as_date(value: object) -> dt.date | None:
    """A date read from YAML (a datetime counts by its day), or None when it is not one."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and not isinstance(value, ImpossibleDate):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None
