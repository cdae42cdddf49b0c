"""The runnable examples in the bench modules' docstrings hold (the suite's doctest run does
not collect ``bench/``)."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from bench import generate
from bench.peers import duckdb_sql, numpy_eval


@pytest.mark.parametrize("module", [generate, duckdb_sql, numpy_eval], ids=lambda m: m.__name__)
def test_docstring_examples_hold(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
