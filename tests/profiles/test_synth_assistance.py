"""The synthetic extracts carry the fields the 失业保险 and 社会救助 policies read
(profiles.synth.assistance), in the department the catalog names, with believable values:
registered unemployed only among working-age people known not to be employed, the benefit
only for the registered with a year of contributions, school stages by age."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from profiles.catalog import load_catalog
from profiles.synth import FILE_STYLES, synthesize

FIELDS = ("registered_unemployed", "receiving_ui_benefit", "medical_insurance_type",
          "education_stage", "own_business_registered_on")


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    synthesize(out, enterprises=0, persons=4000, seed=7, bad_rows=0)
    return out


def _extract(population: Path, name: str) -> tuple[pl.DataFrame, str]:
    field = load_catalog().entity("person").field(name)
    assert field.source is not None
    encoding, header = FILE_STYLES["person"][field.source]
    frame = pl.read_csv(population / f"person_{field.source}.csv", infer_schema=False,
                        encoding="utf8" if encoding == "utf-8" else encoding)
    if header == "label":
        key = load_catalog().entity("person").field("id_number").label
        return frame.rename({key: "id_number"}), field.label
    return frame, field.name


@pytest.mark.parametrize("name", FIELDS)
def test_every_field_is_in_its_departments_extract(population: Path, name: str) -> None:
    frame, column = _extract(population, name)
    assert column in frame.columns, name
    values = frame[column].drop_nulls()
    assert values.len() > 0, name
    allowed = load_catalog().entity("person").field(name).values
    if allowed:
        assert set(values.unique()) <= set(allowed), name


def test_registered_unemployed_are_working_age_and_not_employed(population: Path) -> None:
    frame, _ = _extract(population, "registered_unemployed")
    police = pl.read_csv(population / "person_公安.csv", infer_schema=False)
    rows = frame.join(police.select("id_number", "birth_date"), on="id_number")
    registered = rows.filter(pl.col("registered_unemployed") == "true")
    assert 0 < registered.height < rows.height * 0.1
    assert (registered["employed"] == "false").all()
    receiving = rows.filter(pl.col("receiving_ui_benefit") == "true")
    assert receiving.height >= 1
    assert (receiving["registered_unemployed"] == "true").all()
    assert (receiving["ui_insured_months"].cast(pl.Int64) >= 12).all()


def test_children_of_compulsory_school_age_are_at_school(population: Path) -> None:
    frame, column = _extract(population, "education_stage")
    police = pl.read_csv(population / "person_公安.csv", infer_schema=False)
    rows = frame.join(police.select("id_number", "birth_date"), on="id_number").with_columns(
        age=(pl.lit("2026-01-01").str.to_date() - pl.col("birth_date").str.to_date())
        .dt.total_days() / 365.25)
    pupils = rows.filter(pl.col("age").is_between(7, 14), pl.col(column).is_not_null())
    assert pupils.height > 0
    assert (pupils[column] == "义务教育").mean() > 0.95  # type: ignore[operator]
    adults = rows.filter(pl.col("age") > 30, pl.col(column).is_not_null())
    assert (adults[column] == "未在读").all()
