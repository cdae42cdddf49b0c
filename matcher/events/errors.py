"""Errors of the event engine. :class:`EventError` is the root."""

from __future__ import annotations


class EventError(Exception):
    """Root error of :mod:`matcher.events`."""


class EngineFailure(EventError):
    """durable_rules failed while running actions (an exception it would have swallowed)."""


class BadEventError(EventError):
    """An event that cannot be applied: says what was expected, what came, and where."""

    def __init__(self, message: str, *, line: int | None = None,
                 field: str | None = None) -> None:
        self.line = line
        self.field = field
        where = f"第 {line} 行: " if line is not None else ""
        super().__init__(f"{where}{message}")


class UnknownEntityError(EventError, KeyError):
    """An update for an entity that has no profile loaded (and no key value to start one)."""

    def __init__(self, entity: str) -> None:
        self.entity = entity
        super().__init__(f"expected a loaded {entity} profile for the event, got an unknown id")

    def __str__(self) -> str:
        return str(self.args[0])


class StreamReplacedError(EventError):
    """The followed event file was truncated or replaced (rotated): its line numbers, which
    the checkpoint counts, no longer continue, so the stream cannot go on safely."""
