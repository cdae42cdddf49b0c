"""Every condition of the bundled library reads as a Chinese sentence, aggregates over
related entities included (their labels come from the member's catalog)."""

from __future__ import annotations

import datetime as dt

import pytest

from matcher.explain_text import Words
from profiles.catalog import load_catalog
from rules.loader import bundled_library
from rules.model import leaves

LIBRARY = bundled_library()
LEAVES = [(p, c) for p in LIBRARY for c in leaves(p.eligibility)]


@pytest.mark.parametrize(("policy", "cond"), LEAVES,
                         ids=[f"{p.id}:{i}" for i, (p, _) in enumerate(LEAVES)])
def test_every_condition_of_the_library_has_words(policy, cond) -> None:  # type: ignore[no-untyped-def]
    words = Words(catalog=load_catalog().entity(policy.entity), titles={}, sets=LIBRARY.sets,
                  as_of=dt.date(2026, 11, 30))
    text = words.requirement(cond.expr)
    assert text and "count(" not in text and "max(" not in text, text


def test_the_spouse_reads_by_its_relation_label() -> None:
    words = Words(catalog=load_catalog().entity("person"), titles={}, sets=LIBRARY.sets,
                  as_of=dt.date(2026, 11, 30))
    texts = [words.requirement(c.expr)
             for c in leaves(LIBRARY["family-planning-special-support"].eligibility)]
    assert any("配偶的年龄不低于 49 岁" in t for t in texts), texts
