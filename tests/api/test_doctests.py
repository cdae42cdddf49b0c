"""The doctests of the API modules (the default test paths collect doctests of the rule
language and the matcher only)."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

import api.auth
import api.metrics
import api.services.drafts
import api.settings


@pytest.mark.parametrize("module", [api.auth, api.metrics, api.services.drafts, api.settings])
def test_module_examples_hold(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
