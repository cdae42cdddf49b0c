"""Fuzzed extract rows (the probe's kinds: trailing characters, impossible dates and times,
contradicting section letters, integers beyond 64 bits, inexact decimals, bad bytes, extra
fields, unclosed quotes): every row is accepted with exactly its value or rejected, and no
valid row is lost."""

from __future__ import annotations

from bench.faults import fuzz_rows


def test_no_fuzzed_row_is_accepted_changed_and_no_valid_row_is_lost() -> None:
    figures = fuzz_rows(3000, seed=3)
    assert figures["accepted_changed"] == 0
    assert figures["valid_rows_lost"] == 0
    # the fuzz must have exercised both sides
    assert 0 < figures["quarantined"] < figures["rows_tried"]
    assert figures["valid_rows"] > 1000
