"""Errors of the rule language. :class:`PolicyError` is the root; it carries every
:class:`Problem` found in a file (or a library), each with file, line, column and a stable code.

>>> p = Problem(file="p.yaml", line=3, column=7, code="unknown-field",
...             message="期望字段名，实际为 'employes'", suggestion="employees")
>>> str(p)
"p.yaml:3:7: [unknown-field] 期望字段名，实际为 'employes'；是否应为 'employees'？"
>>> str(PolicyError([p])).splitlines()[0]
'政策文件中有 1 个问题：'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: Every problem code the loader and checker emit, stable across versions.
CODES: tuple[str, ...] = (
    "yaml-error",
    "schema",
    "syntax-error",
    "unknown-field",
    "unknown-set",
    "unknown-region",
    "ambiguous-region",
    "unknown-policy",
    "unknown-function",
    "type-mismatch",
    "unit-mismatch",
    "unknown-value",
    "missing-period",
    "bad-period",
    "bad-delivery",
    "bad-entity",
    "inverted-effective",
    "missing-label",
    "duplicate-id",
    "reference-cycle",
    "entity-mismatch",
    "internal-error",
)


@dataclass(frozen=True, kw_only=True)
class Problem:
    """One thing wrong in a policy file, at a 1-based line and column."""

    file: str
    line: int
    column: int
    code: str
    message: str
    suggestion: str | None = None

    def __str__(self) -> str:
        hint = f"；是否应为 '{self.suggestion}'？" if self.suggestion else ""
        return f"{self.file}:{self.line}:{self.column}: [{self.code}] {self.message}{hint}"


class PolicyError(Exception):
    """Root error of the rule language: one or more problems in policy files."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        n = len(self.problems)
        head = f"政策文件中有 {n} 个问题："
        super().__init__("\n".join([head, *(str(p) for p in self.problems)]))


class UnsupportedNode(PolicyError):
    """A compiler met a node it cannot handle."""

    def __init__(self, target: str, node: object) -> None:
        self.target = target
        self.node = node
        problem = Problem(
            file="<expr>",
            line=0,
            column=0,
            code="unsupported",
            message=f"期望 {target} 编译器支持的节点，实际为 {type(node).__name__}",
        )
        super().__init__([problem])


class UnknownPolicyError(PolicyError, KeyError):
    """A policy id that is not in the library."""

    def __init__(self, policy_id: str, suggestion: str | None) -> None:
        self.policy_id = policy_id
        problem = Problem(
            file="<library>",
            line=0,
            column=0,
            code="unknown-policy",
            message=f"期望政策库中的政策 id，实际为 '{policy_id}'",
            suggestion=suggestion,
        )
        super().__init__([problem])

    def __str__(self) -> str:
        return str(self.problems[0])
