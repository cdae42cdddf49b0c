"""The synthetic extracts carry every field the tax-relief and deduction policies read
(profiles.synth.tax_relief), in the department the catalog names, with values present."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from profiles.catalog import load_catalog
from profiles.synth import FILE_STYLES, synthesize

FIELDS = {
    "enterprise": ("input_vat_monthly", "advanced_manufacturing_listed", "ic_vat_credit_listed",
                   "ic_machine_tool_rd_listed", "software_sales_monthly", "software_vat_monthly",
                   "western_encouraged_revenue_ratio", "xj_catalog_revenue_ratio",
                   "first_operating_income_on", "small_equipment_purchased",
                   "disabled_staff_wages"),
    "person": ("degree_continuing_education_from", "vocational_qualification_on",
               "first_home_loan_from", "work_district", "owns_home_in_work_city",
               "renting_in_work_city", "medical_self_paid", "personal_pension_paid",
               "health_insurance_premium", "elderly_care_level", "key_group_startup_certified",
               "own_business_registered_on"),
}


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    synthesize(out, enterprises=3000, persons=4000, seed=5, bad_rows=0)
    return out


@pytest.mark.parametrize(("entity", "name"),
                         [(e, f) for e, names in FIELDS.items() for f in names])
def test_every_relief_field_is_in_its_departments_extract(population: Path, entity: str,
                                                           name: str) -> None:
    field = load_catalog().entity(entity).field(name)
    assert field.source is not None
    encoding, header = FILE_STYLES[entity][field.source]
    frame = pl.read_csv(population / f"{entity}_{field.source}.csv", infer_schema=False,
                        encoding="utf8" if encoding == "utf-8" else encoding)
    column = field.label if header == "label" else field.name
    assert column in frame.columns, (entity, name)
    assert frame[column].drop_nulls().len() > 0, (entity, name)
