"""Errors of the profiles package: one root, subclasses with the facts as fields.

Bad *rows* are never errors: they are quarantined into the rejects table. These errors are
for inputs that cannot be used at all (an unreadable file, a table without its key column,
an unknown entity).
"""

from __future__ import annotations

from pathlib import Path


class ProfilesError(Exception):
    """Root error of the profiles package."""


class SourceError(ProfilesError):
    """A source extract that cannot be read or has no key column."""

    def __init__(self, source: str, problem: str, *, expected: str | None = None) -> None:
        self.source = source
        self.problem = problem
        self.expected = expected
        hint = f"；应为{expected}" if expected else ""
        super().__init__(f"数据源 {source}: {problem}{hint}")


class SourcesNotFoundError(ProfilesError):
    """No source extract for the entity in the given directory."""

    def __init__(self, directory: Path, entity: str, pattern: str) -> None:
        self.directory = directory
        self.entity = entity
        self.pattern = pattern
        super().__init__(
            f"目录 {directory} 中没有 {entity} 的数据源文件；应为 {pattern} (CSV 或 Parquet)"
        )


class UnknownEntityError(ProfilesError, ValueError):
    def __init__(self, entity: str) -> None:
        self.entity = entity
        super().__init__(f"unknown entity {entity!r}; expected 'enterprise' or 'person'")
