"""Errors of tag inference; all are :class:`profiles.errors.ProfilesError` (the package root)."""

from __future__ import annotations

from pathlib import Path

from profiles.errors import ProfilesError


class TagError(ProfilesError):
    """Root of the tag-inference errors."""


class UnknownTagError(TagError, KeyError):
    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        self.name = name
        self.known = known
        super().__init__(f"未知的产业链标签 {name!r}；应为 {', '.join(known)} 之一")

    def __str__(self) -> str:
        return str(self.args[0])


class LabelsError(TagError):
    """A labelled table that cannot be used for training."""

    def __init__(self, source: str, problem: str, *, expected: str, row: int | None = None) -> None:
        self.source = source
        self.problem = problem
        self.expected = expected
        self.row = row
        where = f" 第 {row} 行" if row is not None else ""
        super().__init__(f"标注表 {source}{where}: {problem}；应为{expected}")


class TagModelFileError(TagError):
    """A model file (or its card) that is missing, unreadable or inconsistent."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"标签模型 {path}: {problem}")


class TagModelEntityError(TagError, ValueError):
    def __init__(self, entity: str) -> None:
        self.entity = entity
        super().__init__(f"产业链标签模型只用于企业画像 (enterprise)，收到 {entity!r}")
