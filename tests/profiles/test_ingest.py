from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from profiles.catalog import load_catalog
from profiles.ingest import validate_frame, validate_source
from profiles.sources import read_source

USCC = "91350100M000100Y43"
PID = "11010519491231002X"
PID2 = "440524188001010014"


def _valid_uscc2() -> str:
    import numpy as np

    from profiles.idcheck import org_code_with_check, uscc_with_check

    body = np.frombuffer(b"MA59A1B2", dtype=np.uint8).reshape(1, 8)
    prefix = np.frombuffer(b"91440106", dtype=np.uint8).reshape(1, 8)
    return str(uscc_with_check(np.concatenate([prefix, org_code_with_check(body)], axis=1))[0])


def _reasons(rejects: pl.DataFrame) -> list[str]:
    return [r.rsplit("[", 1)[1].rstrip("]") for r in rejects["reason"].to_list()]


def enterprise(**columns: list[str] | list[str | None]) -> pl.DataFrame:
    n = len(next(iter(columns.values())))
    data: dict[str, list[str | None]] = {"uscc": [USCC] * n}
    data.update({k: list(v) for k, v in columns.items()})
    return pl.DataFrame(data, schema={k: pl.String for k in data})


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("employees", "12.5", "not_integer"),
        ("employees", "十二", "not_integer"),
        ("employees", "-1", "below_min"),
        ("operating_revenue", "abc", "not_number"),
        ("operating_revenue", "inf", "not_number"),
        ("operating_revenue", "-0.01", "below_min"),
        ("founded_on", "2023-02-30", "not_date"),
        ("founded_on", "1700-01-01", "implausible_date"),
        ("serious_dishonesty", "也许", "not_bool"),
        ("status", "营业中", "not_in_values"),
        ("tax_credit_rating", "AA", "not_in_values"),
        ("district", "44010", "bad_format"),
        ("industry_code", "391", "bad_format"),
        ("industry_code", "9911", "bad_format"),
    ],
)
def test_each_bad_enterprise_value_is_rejected_with_its_reason(
    column: str, value: str, reason: str
) -> None:
    clean, rejects = validate_frame(
        enterprise(**{column: [value]}), entity="enterprise", source="s"
    )
    assert clean.height == 0
    assert _reasons(rejects) == [reason]
    row = rejects.row(0, named=True)
    assert row == {
        "source": "s",
        "row_number": 1,
        "key": USCC,
        "field": column,
        "value": value,
        "reason": row["reason"],
    }


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("disability_grade", "5", "above_max"),
        ("disability_grade", "0", "below_min"),
        ("disability_category", "其他", "not_in_values"),
        ("birth_date", "1990-13-01", "not_date"),
        ("alive", "maybe", "not_bool"),
        ("hukou_district", "3101150", "bad_format"),
    ],
)
def test_each_bad_person_value_is_rejected_with_its_reason(
    column: str, value: str, reason: str
) -> None:
    df = pl.DataFrame({"id_number": [PID], column: [value]})
    _, rejects = validate_frame(df, entity="person")
    assert _reasons(rejects) == [reason]


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        (None, "key_missing"),
        ("  ", "key_missing"),
        ("9135", "key_length"),
        ("91350100M00010OY43", "key_charset"),
        ("B1350100M000100Y43", "uscc_department"),
        ("95350100M000100Y43", "uscc_category"),
        ("91350100M000100Y53", "uscc_org_check"),
        ("91350100M000100Y44", "key_check_char"),
    ],
)
def test_bad_uscc_rows_are_quarantined(key: str | None, reason: str) -> None:
    df = pl.DataFrame(
        {"uscc": [key, USCC], "employees": ["1", "2"]},
        schema={"uscc": pl.String, "employees": pl.String},
    )
    clean, rejects = validate_frame(df, entity="enterprise")
    assert clean["uscc"].to_list() == [USCC]
    assert _reasons(rejects) == [reason]
    assert rejects["field"].to_list() == ["uscc"]


def test_person_keys_and_personal_values_are_masked_in_rejects() -> None:
    df = pl.DataFrame(
        {
            "id_number": [PID, "110105194902290021"],
            "phone": ["13800001234", "13900005678"],
            "name": ["张三", "李四"],
            "children_under_3": ["-1", "0"],
        }
    )
    _, rejects = validate_frame(df, entity="person")
    assert rejects["key"].to_list() == ["1101**********002X", "1101**********0021"]
    assert rejects["value"].to_list() == ["-1", "1101**********0021"]
    assert _reasons(rejects) == ["below_min", "id_birth_date"]
    text = rejects.write_csv()
    assert PID not in text and "13900005678" not in text and "李四" not in text


def test_conflicting_duplicates_are_all_rejected_and_identical_ones_merged() -> None:
    uscc2 = _valid_uscc2()
    df = enterprise(employees=["1", "2", "3"])
    df = pl.concat([df, pl.DataFrame({"uscc": [uscc2, uscc2], "employees": ["7", "7"]})])
    result = validate_source(df, entity="enterprise", source="税务")
    assert result.clean["uscc"].to_list() == [uscc2]
    assert result.stats.duplicates_merged == 1
    assert result.rejects["row_number"].to_list() == [1, 2, 3]
    assert set(_reasons(result.rejects)) == {"duplicate_conflict"}
    assert result.rejects["field"].to_list() == ["employees"] * 3
    assert (result.stats.rows_read, result.stats.rows_accepted, result.stats.rows_rejected) == (
        5,
        1,
        3,
    )


def test_a_source_of_keys_alone_merges_its_repeated_keys() -> None:
    # a list of enterprises (the key column only): a repeated key is an identical row, merged
    df = pl.DataFrame({"uscc": [USCC, USCC, _valid_uscc2()]})
    result = validate_source(df, entity="enterprise", source="名单")
    assert result.clean["uscc"].to_list() == [USCC, _valid_uscc2()]
    assert result.stats.duplicates_merged == 1
    assert result.rejects.height == 0


def test_rejects_name_the_source_they_came_from() -> None:
    # the checks of a set of columns are built once and reused: the source is not among what
    # they may carry over from one extract to the next
    for source in ("税务", "人社"):
        result = validate_source(enterprise(employees=["x"]), entity="enterprise", source=source)
        assert result.rejects["source"].to_list() == [source]


def test_empty_cells_stay_unknown_including_list_type_fields() -> None:
    df = enterprise(
        employees=["", None], serious_dishonesty=[" ", None], high_tech_cert_on=["", None]
    )
    df = df.with_columns(pl.Series("uscc", [USCC, _valid_uscc2()]))
    clean, rejects = validate_frame(df, entity="enterprise")
    assert rejects.height == 0
    assert clean["employees"].null_count() == 2
    assert clean["serious_dishonesty"].null_count() == 2
    assert clean["high_tech_cert_on"].null_count() == 2


def test_unknown_derived_and_duplicate_columns_are_ignored_with_warnings() -> None:
    df = enterprise(employees=["3"], 从业人数=["4"], size_class=["微型"], colour=["red"])
    result = validate_source(df, entity="enterprise", source="s")
    assert result.clean["employees"].to_list() == [3]
    assert set(result.stats.ignored_columns) == {"从业人数", "size_class", "colour"}
    assert len(result.warnings) == 3


def test_a_table_without_its_key_column_is_refused_not_dropped_silently() -> None:
    result = validate_source(
        pl.DataFrame({"employees": ["1", "2"]}), entity="enterprise", source="s"
    )
    assert result.stats.refused is not None
    assert (result.stats.rows_read, result.stats.rows_rejected) == (2, 2)
    assert _reasons(result.rejects) == ["key_column_missing"]


def test_accepted_spellings_parse_to_typed_values() -> None:
    df = enterprise(
        employees=["12.0"],
        operating_revenue=["1.5e6"],
        founded_on=["2020/3/1"],
        high_tech_cert_on=["20240301"],
        little_giant_on=["2025-06-30 00:00:00"],
        serious_dishonesty=["是"],
        industry_code=["C3911"],
    )
    clean, rejects = validate_frame(df, entity="enterprise")
    assert rejects.height == 0
    row = clean.row(0, named=True)
    assert row["employees"] == 12
    assert row["operating_revenue"] == 1_500_000.0
    assert row["founded_on"] == date(2020, 3, 1)
    assert row["high_tech_cert_on"] == date(2024, 3, 1)
    assert row["little_giant_on"] == date(2025, 6, 30)
    assert row["serious_dishonesty"] is True
    assert row["industry_code"] == "3911"


def test_clean_table_has_every_base_field_with_catalog_dtypes() -> None:
    clean, _ = validate_frame(enterprise(employees=["1"]), entity="enterprise")
    base = load_catalog().entity("enterprise").base_fields
    assert clean.columns == [f.name for f in base]
    dtypes = {
        "str": pl.String,
        "int": pl.Int64,
        "float": pl.Float64,
        "date": pl.Date,
        "bool": pl.Boolean,
    }
    assert all(clean.schema[f.name] == dtypes[f.type] for f in base)


def test_typed_parquet_input_validates_like_text(tmp_path: Path) -> None:
    typed = pl.DataFrame(
        {
            "uscc": [USCC],
            "employees": [5],
            "founded_on": [date(2020, 1, 2)],
            "serious_dishonesty": [True],
            "operating_revenue": [0.1],
        }
    )
    path = tmp_path / "enterprise.parquet"
    typed.write_parquet(path)
    frame, encoding = read_source(path)
    clean, rejects = validate_frame(frame, entity="enterprise")
    assert encoding == "parquet" and rejects.height == 0
    assert clean.select(typed.columns).equals(typed)


def test_gb18030_csv_is_detected_and_read(tmp_path: Path) -> None:
    path = tmp_path / "enterprise_税务.csv"
    path.write_bytes(
        f"统一社会信用代码,增值税纳税人类型,从业人数\n{USCC},小规模纳税人,3\n".encode("gb18030")
    )
    frame, encoding = read_source(path)
    clean, rejects = validate_frame(frame, entity="enterprise")
    assert encoding == "gb18030" and rejects.height == 0
    assert clean["vat_taxpayer_type"].to_list() == ["小规模纳税人"]


def test_utf8_bom_and_quoted_label_header_are_read(tmp_path: Path) -> None:
    path = tmp_path / "enterprise_工信.csv"
    path.write_bytes(
        b"\xef\xbb\xbf" + f'uscc,"专精特新""小巨人""认定日期"\n{USCC},2025-03-01\n'.encode()
    )
    frame, _ = read_source(path)
    clean, rejects = validate_frame(frame, entity="enterprise")
    assert rejects.height == 0 and clean["little_giant_on"].to_list() == [date(2025, 3, 1)]


def test_lower_case_x_in_id_number_is_normalised() -> None:
    clean, rejects = validate_frame(
        pl.DataFrame({"id_number": [PID.lower(), PID2]}), entity="person"
    )
    assert rejects.height == 0 and clean["id_number"].to_list() == [PID, PID2]


_cells = {
    "employees": st.sampled_from(["3", "-1", "x", "", "2.0"]),
    "founded_on": st.sampled_from(["2020-01-01", "2020-02-30", "", "1700-01-01"]),
    "status": st.sampled_from(["存续", "营业", ""]),
}


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.fixed_dictionaries(
            {"uscc": st.sampled_from([USCC, "91350100M000100Y44", "", "x"]), **_cells}
        ),
        max_size=12,
    )
)
def test_every_row_is_accepted_rejected_or_merged(rows: list[dict[str, str]]) -> None:
    df = pl.DataFrame(rows, schema={c: pl.String for c in ("uscc", *_cells)})
    result = validate_source(df, entity="enterprise", source="s")
    stats = result.stats
    assert stats.rows_read == len(rows)
    assert stats.rows_accepted + stats.rows_rejected + stats.duplicates_merged == len(rows)
    assert set(result.rejects["row_number"]) <= set(range(1, len(rows) + 1))
    assert result.clean["uscc"].to_list() in ([], [USCC])
