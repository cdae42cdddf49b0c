from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from profiles.build import build_snapshot
from profiles.idcheck import id_number_problems, uscc_problems
from profiles.synth import REFERENCE_DATE, synthesize


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    synthesize(out, enterprises=4000, persons=6000, seed=7)
    return out


@pytest.fixture(scope="module")
def snapshots(
    population: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, pl.DataFrame]:
    out = tmp_path_factory.mktemp("snap")
    snaps = {}
    for entity in ("enterprise", "person"):
        report = build_snapshot(
            population, entity=entity, as_of=REFERENCE_DATE, out=out / f"{entity}.parquet"
        )
        assert report.rows_rejected == 0
        snaps[entity] = pl.read_parquet(out / f"{entity}.parquet")
    return snaps


def _bytes(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    synthesize(tmp_path / "a", enterprises=300, persons=300, seed=3)
    synthesize(tmp_path / "b", enterprises=300, persons=300, seed=3)
    synthesize(tmp_path / "c", enterprises=300, persons=300, seed=4)
    assert _bytes(tmp_path / "a") == _bytes(tmp_path / "b")
    assert _bytes(tmp_path / "a") != _bytes(tmp_path / "c")


def test_number_of_persons_does_not_change_the_enterprises(tmp_path: Path) -> None:
    synthesize(tmp_path / "a", enterprises=200, persons=10, seed=3)
    synthesize(tmp_path / "b", enterprises=200, persons=500, seed=3)
    a, b = _bytes(tmp_path / "a"), _bytes(tmp_path / "b")
    assert {k: v for k, v in a.items() if k.startswith("enterprise")} == {
        k: v for k, v in b.items() if k.startswith("enterprise")
    }


def test_keys_are_valid_and_distinct(population: Path) -> None:
    firms = pl.read_csv(population / "enterprise_市场监管.csv", infer_schema=False)["uscc"]
    people = pl.read_csv(population / "person_公安.csv", infer_schema=False)["id_number"]
    assert uscc_problems(firms).null_count() == len(firms) == firms.n_unique()
    assert id_number_problems(people).null_count() == len(people) == people.n_unique()


def test_id_numbers_carry_the_birth_date_and_hukou(snapshots: dict[str, pl.DataFrame]) -> None:
    p = snapshots["person"].drop_nulls(["birth_date", "hukou_district"])
    assert (p["id_number"].str.slice(6, 8) == p["birth_date"].dt.strftime("%Y%m%d")).all()
    assert (p["id_number"].str.slice(0, 6) == p["hukou_district"]).all()


def test_some_files_are_gb18030_and_use_chinese_headers(population: Path) -> None:
    raw = (population / "enterprise_税务.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert raw.decode("gb18030").startswith("统一社会信用代码,")


def test_population_covers_the_old_the_disabled_and_the_two_hukou_cities(
    snapshots: dict[str, pl.DataFrame],
) -> None:
    p = snapshots["person"]
    age = p["age"]
    assert age.min() == 0 and age.max() >= 100  # type: ignore[operator]
    assert (age >= 80).sum() > 300 and (age >= 90).sum() > 100 and (age >= 100).sum() > 5
    shanghai = p["hukou_district"].str.starts_with("31").sum()
    beijing = p["hukou_district"].str.starts_with("11").sum()
    assert shanghai > 1500 and beijing > 1500
    disabled = p["disability_grade"].is_not_null().mean()
    assert 0.04 < disabled < 0.09  # type: ignore[operator]
    assert set(p["subsistence_status"].drop_nulls()) == {"低保", "特困", "低收入"}
    only_child = p.filter(pl.col("only_child_status").is_not_null())
    assert (only_child["age"].drop_nulls() >= 49).all() and only_child.height > 5


def test_enterprises_are_spread_and_certificates_rare(snapshots: dict[str, pl.DataFrame]) -> None:
    e = snapshots["enterprise"]
    prefixes = set(e["district"].drop_nulls().str.slice(0, 4).to_list())
    assert {"4401", "4403"} <= prefixes and any(p.startswith("31") for p in prefixes)
    assert e["region"].drop_nulls().len() == e["district"].drop_nulls().len()
    assert set(e["size_class"].drop_nulls()) >= {"微型", "小型", "中型"}
    share = e["high_tech_cert_on"].is_not_null().mean()
    assert 0.01 < share < 0.08  # type: ignore[operator]
    assert 0 < e["serious_dishonesty"].sum() < 0.02 * e.height
    giants = e["little_giant_on"].drop_nulls()
    assert 0 < giants.len() < 0.01 * e.height


def test_revenue_grows_with_headcount(snapshots: dict[str, pl.DataFrame]) -> None:
    e = snapshots["enterprise"].drop_nulls(["employees", "operating_revenue", "total_assets"])
    assert (
        e.select(pl.corr(pl.col("employees").log1p(), pl.col("operating_revenue").log1p())).item()
        > 0.5
    )
    assert (
        e.select(
            pl.corr(pl.col("operating_revenue").log1p(), pl.col("total_assets").log1p())
        ).item()
        > 0.5
    )
    assert (e["annual_taxable_income"].drop_nulls() < 0).any()


def test_three_to_five_percent_missing_on_non_key_fields(population: Path) -> None:
    tax = pl.read_csv(population / "enterprise_税务.csv", encoding="utf8-lossy", infer_schema=False)
    shares = [tax[c].null_count() / tax.height for c in tax.columns[1:]]
    assert tax[tax.columns[0]].null_count() == 0
    assert all(0.02 < s < 0.06 for s in shares), shares


def test_bad_rows_are_quarantined_by_the_build(tmp_path: Path) -> None:
    synthesize(tmp_path / "src", enterprises=0, persons=400, seed=1, bad_rows=5)
    report = build_snapshot(
        tmp_path / "src", entity="person", as_of=date(2026, 1, 1), out=tmp_path / "p.parquet"
    )
    assert report.rows_rejected == 6  # 4 bad values + both rows of one conflicting duplicate
