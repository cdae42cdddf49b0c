"""The examples in the store's and the run settings' docstrings hold (these packages are
outside the doctest collection paths)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "store.db",
    "store.audit",
    "store.policies",
    "store.entitlements",
    "api.settings",
    "store.migrations.env",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
