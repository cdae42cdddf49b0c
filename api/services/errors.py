"""Errors the API answers with. :class:`ApiError` is the root; each subclass has its HTTP
status and a message in Chinese for the people who read it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class ApiError(Exception):
    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, *, extra: dict[str, Any] | None = None) -> None:
        self.message = message
        self.extra = extra or {}
        super().__init__(message)


class NotFound(ApiError):
    status = 404
    code = "not_found"


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


class Conflict(ApiError):
    status = 409
    code = "conflict"


class NoDataYet(ApiError):
    """No successful run (or no snapshot) to answer from."""

    status = 409
    code = "no_run"


class InvalidPolicy(ApiError):
    """Policy YAML with problems; each problem keeps its line and column."""

    status = 422
    code = "invalid_policy"

    def __init__(self, problems: Sequence[dict[str, Any]]) -> None:
        self.problems = list(problems)
        super().__init__(
            f"政策文本有 {len(self.problems)} 处问题", extra={"problems": self.problems}
        )
