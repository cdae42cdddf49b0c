"""A bad line never makes a file unreadable, and a quarantined row is held, never decided."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from profiles.build import build_snapshot, read_snapshot_metadata
from profiles.catalog import HELD_FIELDS
from profiles.csv_lines import (
    _blank_line_after_header,
    _line_count,
    decide_encoding,
    read_csv_bytes,
)

AS_OF = date(2026, 1, 1)
P1, P2, P3 = "11010519491231002X", "110105194912310038", "110105194912310046"


def test_one_stray_byte_does_not_flip_a_utf8_file_to_gb18030() -> None:
    data = b"id_number,name\n" + f"{P1},张三\n".encode() + f"{P2},李".encode() + b"\xff\n"
    assert decide_encoding(data) == "utf-8"
    read = read_csv_bytes(data)
    assert read.frame.rows() == [(P1, "张三")]
    assert [(b.line, b.code) for b in read.bad_lines] == [(3, "bad_encoding")]


def test_extra_field_and_unbalanced_quote_reject_only_their_line() -> None:
    data = (f"id_number,name\n{P1},张三\n{P2},李四,多余\n{P3},\"王五\n"
            f"{P1[:-1]}9,\"赵\n六\"\n").encode()
    read = read_csv_bytes(data)
    assert [(b.line, b.code) for b in read.bad_lines] == [(3, "field_count"),
                                                          (4, "unbalanced_quote")]
    # the quoted field spanning two lines is one record (line 5, data row 4)
    assert read.frame["name"].to_list() == ["张三", "赵\n六"]
    assert read.rows.to_list() == [1, 4]


def test_gb18030_file_with_one_bad_line_keeps_its_other_lines() -> None:
    data = "id_number,name\n".encode("gb18030") + f"{P1},张三\n".encode("gb18030") + b"\x80\n"
    read = read_csv_bytes(data)
    assert read.encoding == "gb18030" and read.frame["name"].to_list() == ["张三"]
    assert [b.code for b in read.bad_lines] == ["bad_encoding"]


def _sources(tmp_path: Path, disability: bytes) -> Path:
    d = tmp_path / "src"
    d.mkdir(exist_ok=True)
    (d / "person_公安.csv").write_text(
        f"id_number,birth_date,alive\n{P1},1949-12-31,是\n{P2},1949-12-31,是\n{P3},1949-12-31,是\n",
        encoding="utf-8")
    (d / "person_残联.csv").write_bytes(disability)
    return d


def test_a_quarantined_list_row_makes_its_fields_unknown_not_unlisted(tmp_path: Path) -> None:
    bad = (f"id_number,残疾等级,残疾类别\n{P1},2,肢体\n{P2},二级,肢体\n{P3},1,视".encode()
           + b"\xff\n")
    src = _sources(tmp_path, bad)
    out = tmp_path / "p.parquet"
    report = build_snapshot(src, entity="person", as_of=AS_OF, out=out)
    snap = pl.read_parquet(out).sort("id_number")
    held = dict(snap.select("id_number", HELD_FIELDS).iter_rows())
    assert held[P1] is None
    assert held[P2] == held[P3] == ["disability_category", "disability_grade"]
    assert report.rows_rejected == 2
    meta = read_snapshot_metadata(out)
    assert meta["held"] == {"entities": 2,
                            "by_source": {"残联": {"bad_encoding": 1, "not_integer": 1}}}


def test_a_file_without_a_readable_header_is_a_refused_source_not_a_crash(
    tmp_path: Path,
) -> None:
    src = _sources(tmp_path, b'"id_number,\xff\n1,2\n')
    report = build_snapshot(src, entity="person", as_of=AS_OF, out=tmp_path / "p.parquet")
    refused = {s.source: s.refused for s in report.sources}
    assert refused["公安"] is None and refused["残联"] is not None


_PIECES = st.sampled_from(["a", "甲", ",", " ", "\t", "\u3000", "\xa0", "\n", "\r\n", "\r", "",
                           "\x0c", "\x1c", "\x85", "\u2028", "1"])


@settings(max_examples=500, deadline=None)
@given(st.lists(_PIECES, max_size=30))
def test_the_fast_path_counts_lines_and_finds_blank_ones_as_the_text_does(
        pieces: list[str]) -> None:
    """The fast path reads lines off the bytes without making them: its count and its blank
    lines are those of ``splitlines`` (of the bytes; of the text after the header)."""
    body = "".join(pieces).encode()
    assert _line_count(body) == len(body.splitlines())
    assert _blank_line_after_header(body) == any(
        not line.strip() for line in body.decode().splitlines()[1:])
