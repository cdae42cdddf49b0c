"""The examples in the notifier's docstrings run (the suite collects doctests only from the
rule language and the matcher by default)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = (
    "notifier.masking",
    "notifier.formatting",
    "notifier.application",
    "notifier.links",
    "notifier.planning",
    "notifier.delivery_rules",
    "notifier.worker",
    "notifier.channels.webhook",
    "notifier.channels.smtp",
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
