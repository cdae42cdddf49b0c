from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from profiles.build import build_snapshot, canonical_hash, read_snapshot_metadata
from profiles.errors import SourceError, SourcesNotFoundError
from profiles.synth import synthesize

USCC = "91350100M000100Y43"
AS_OF = date(2026, 1, 1)


def _write(path: Path, text: str, encoding: str = "utf-8") -> None:
    path.write_bytes(text.encode(encoding))


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    d = tmp_path / "src"
    d.mkdir()
    other = synthesize(tmp_path / "one", enterprises=1, persons=0, seed=5)
    uscc2 = pl.read_csv(other.files[0].path, infer_schema=False)["uscc"][0]
    _write(
        d / "enterprise_市场监管.csv",
        f"uscc,name,district,industry_code,founded_on,status\n{USCC},甲公司,440106,3911,2015-03-01,存续\n"
        "91350100M000100Y44,坏公司,440106,3911,2015-03-01,存续\n",
    )
    _write(
        d / "enterprise_税务.csv",
        f"统一社会信用代码,从业人数,营业收入,企业名称\n{USCC},10,1000000,\n{uscc2},500,90000000,乙公司\n",
        "gb18030",
    )
    _write(d / "person_公安.csv", "id_number,birth_date\n11010519491231002X,1949-12-31\n")
    (d / "notes.txt").write_text("not a source")
    return d


def test_full_outer_join_keeps_entities_present_in_one_source_only(
    sources: Path, tmp_path: Path
) -> None:
    out = tmp_path / "snap.parquet"
    report = build_snapshot(sources, entity="enterprise", as_of=AS_OF, out=out)
    snap = pl.read_parquet(out)
    assert snap.height == report.profiles == 2
    by_key = {r["uscc"]: r for r in snap.iter_rows(named=True)}
    assert by_key[USCC]["employees"] == 10 and by_key[USCC]["size_class"] == "微型"
    assert by_key[USCC]["region"] == "广东省广州市天河区"
    other = next(k for k in by_key if k != USCC)
    assert by_key[other]["district"] is None and by_key[other]["employees"] == 500


def test_a_field_in_two_sources_is_taken_from_the_first_that_has_it(
    sources: Path, tmp_path: Path
) -> None:
    report = build_snapshot(sources, entity="enterprise", as_of=AS_OF, out=tmp_path / "s.parquet")
    names = dict(pl.read_parquet(tmp_path / "s.parquet").select("uscc", "name").iter_rows())
    assert names[USCC] == "甲公司" and "乙公司" in names.values()
    assert any("name" in w for w in report.warnings)


def test_counts_metadata_and_sidecar_are_reported(sources: Path, tmp_path: Path) -> None:
    out = tmp_path / "snap.parquet"
    rejects = tmp_path / "rejects.csv"
    report = build_snapshot(sources, entity="enterprise", as_of=AS_OF, out=out, rejects=rejects)
    counts = {
        s.source: (s.rows_read, s.rows_accepted, s.rows_rejected, s.encoding)
        for s in report.sources
    }
    assert counts == {"市场监管": (2, 1, 1, "utf-8"), "税务": (2, 2, 0, "gb18030")}
    meta = read_snapshot_metadata(out)
    sidecar = json.loads((tmp_path / "snap.parquet.meta.json").read_text(encoding="utf-8"))
    assert meta == sidecar
    assert meta["as_of"] == "2026-01-01" and meta["entity"] == "enterprise"
    assert meta["snapshot_hash"] == report.snapshot_hash == canonical_hash(pl.read_parquet(out))
    assert len(meta["sources"][0]["sha256"]) == 64  # type: ignore[index]
    rejected = pl.read_csv(rejects)
    assert rejected.columns == ["source", "row_number", "key", "field", "value", "reason"]
    assert rejected["reason"][0].endswith("[key_check_char]")


def test_snapshot_hash_does_not_depend_on_input_row_order(sources: Path, tmp_path: Path) -> None:
    first = build_snapshot(sources, entity="enterprise", as_of=AS_OF, out=tmp_path / "a.parquet")
    path = sources / "enterprise_税务.csv"
    header, *rows = path.read_bytes().decode("gb18030").splitlines()
    path.write_bytes("\n".join([header, *reversed(rows)]).encode("gb18030"))
    second = build_snapshot(sources, entity="enterprise", as_of=AS_OF, out=tmp_path / "b.parquet")
    assert first.snapshot_hash == second.snapshot_hash
    later = build_snapshot(
        sources, entity="enterprise", as_of=date(2027, 1, 1), out=tmp_path / "c.parquet"
    )
    assert later.snapshot_hash != first.snapshot_hash  # derived tags move with the date


def test_person_snapshot_has_every_catalog_column(sources: Path, tmp_path: Path) -> None:
    build_snapshot(sources, entity="person", as_of=AS_OF, out=tmp_path / "p.parquet")
    snap = pl.read_parquet(tmp_path / "p.parquet")
    assert snap["age"].to_list() == [76]
    assert snap.schema["disability_grade"] == pl.Int64 and snap["disability_grade"].to_list() == [
        None
    ]


def test_missing_sources_and_misnamed_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SourcesNotFoundError):
        build_snapshot(tmp_path, entity="enterprise", as_of=AS_OF, out=tmp_path / "x.parquet")
    bad = tmp_path / "data.csv"
    bad.write_text("uscc\n")
    with pytest.raises(SourceError):
        build_snapshot([bad], entity="enterprise", as_of=AS_OF, out=tmp_path / "x.parquet")


def test_source_without_key_column_is_reported_as_refused(tmp_path: Path) -> None:
    (tmp_path / "enterprise_税务.csv").write_text("employees\n1\n2\n")
    (tmp_path / "enterprise_市场监管.csv").write_text(f"uscc\n{USCC}\n")
    report = build_snapshot(tmp_path, entity="enterprise", as_of=AS_OF, out=tmp_path / "x.parquet")
    refused = {s.source: s.refused for s in report.sources}
    assert refused["税务"] is not None and refused["市场监管"] is None
    assert report.rows_rejected == 2 and report.profiles == 1


@pytest.mark.slow
def test_build_of_100k_synthetic_enterprises_reports_the_right_counts(tmp_path: Path) -> None:
    synth = synthesize(tmp_path / "src", enterprises=100_000, persons=0, seed=11, bad_rows=7)
    report = build_snapshot(
        tmp_path / "src",
        entity="enterprise",
        as_of=AS_OF,
        out=tmp_path / "e.parquet",
        rejects=tmp_path / "rej.parquet",
    )
    written = {f.path.name: f.rows for f in synth.files}
    assert {s.file: s.rows_read for s in report.sources} == written
    rejected = {s.source: s.rows_rejected for s in report.sources}
    # the yearly panel's one bad cell leaves its row (only that year is UNKNOWN)
    assert rejected == {"市场监管": 6, "税务": 2, "科技": 0, "工信": 0, "人社": 0, "残联": 0,
                        "退役军人事务": 0, "发改": 0, "yearly_税务": 0}
    assert all(s.rows_accepted + s.rows_rejected == s.rows_read for s in report.sources)
    assert report.profiles == 100_000
    reasons = (
        pl.read_parquet(tmp_path / "rej.parquet")["reason"].str.extract(r"\[(\w+)\]$").to_list()
    )
    assert sorted(reasons) == sorted(
        [
            "key_check_char",
            "bad_format",
            "not_in_values",
            "not_date",
            "duplicate_conflict",
            "duplicate_conflict",
            "below_min",
            "not_number",
            "not_number",  # the yearly panel's bad revenue cell
        ]
    )
