"""Link tables are validated and quarantined like profile sources; the synthetic population
writes them; the relations built from them are what the rules aggregate over."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from profiles.derive import derive
from profiles.relations import (
    _first_of_repeats,
    members_by_owner,
    related_frames,
    table_name,
    validate_table,
)
from profiles.synth import synthesize

HEAD, SPOUSE, CHILD = "11010519491231002X", "110105195001010012", "110105200001010016"


def test_bad_rows_are_quarantined_with_reasons_and_masked_keys() -> None:
    links = pl.DataFrame({
        "统一社会信用代码": ["91350100M000100Y43", "91350100M000100Y44", "91350100M000100Y43",
                      "91350100M000100Y43"],
        "公民身份号码": [HEAD, HEAD, HEAD, SPOUSE],
        "用工起始日期": ["2024-01-01", "2024-01-01", "2024-05-01", "2024-02-30"],
        "用工终止日期": ["", "", "2024-04-01", ""],
        "参保月数": ["12", "3", "-1", "2"],
        "缴费工资基数": ["8000", "8000", "8000", "x"],
    })
    result = validate_table(links, table="employment_links", source="人社")
    assert result.clean.height == 1
    reasons = set(result.rejects["reason"].str.extract(r"\[(\w+)\]").to_list())
    assert {"key_check_char", "bad_period", "below_min", "not_date", "not_number"} <= reasons
    assert not result.rejects["key"].str.contains(HEAD).any()  # personal data masked


def test_a_table_without_a_required_column_is_refused_whole() -> None:
    result = validate_table(pl.DataFrame({"id_number": [HEAD]}), table="households",
                            source="公安")
    assert result.stats.refused is not None and result.clean.height == 0


def test_household_conflicts_reject_every_row_involved() -> None:
    rows = pl.DataFrame({"household_id": ["H1", "H1", "H2", "H3", "H3"],
                         "id_number": [HEAD, SPOUSE, SPOUSE, CHILD, "110105193001010013"],
                         "relation": ["户主", "配偶", "户主", "户主", "户主"]})
    result = validate_table(rows, table="households", source="公安")
    # SPOUSE is in two households; H3 has two heads: only HEAD's row stays
    assert result.clean["id_number"].to_list() == [HEAD]
    assert result.rejects["reason"].str.contains("household_conflict").all()


def test_spouse_and_members_follow_the_register() -> None:
    people = derive(pl.DataFrame({"id_number": [HEAD, SPOUSE, CHILD],
                                  "birth_date": [dt.date(1949, 12, 31), dt.date(1950, 1, 1),
                                                 dt.date(2000, 1, 1)]}),
                    entity="person", as_of=dt.date(2025, 1, 1)).collect()
    register = pl.DataFrame({"household_id": ["H1", "H1", "H1"],
                             "id_number": [HEAD, SPOUSE, CHILD],
                             "relation": ["户主", "配偶", "子女"]})
    related = related_frames(persons=people, households=register)
    spouses = members_by_owner(related["spouse"])
    assert [m["id_number"] for m in spouses[HEAD]] == [SPOUSE]
    assert [m["id_number"] for m in spouses[SPOUSE]] == [HEAD]
    assert spouses[CHILD] == []  # on record, no spouse
    members = members_by_owner(related["household.members"])
    assert sorted(m["relation"] for m in members[CHILD]) == ["子女", "户主", "配偶"]


def test_synthetic_population_writes_valid_link_tables(tmp_path: Path) -> None:
    report = synthesize(tmp_path, enterprises=60, persons=400, seed=5)
    names = {f.path.name for f in report.files}
    assert {"households_公安.csv", "employment_links_人社.csv"} <= names
    for name in ("households_公安.csv", "employment_links_人社.csv"):
        table = table_name(tmp_path / name)
        assert table is not None
        frame = pl.read_csv(tmp_path / name, infer_schema=False)
        result = validate_table(frame, table=table, source=name)
        assert result.rejects.height == 0 and result.clean.height > 0
    register = pl.read_csv(tmp_path / "households_公安.csv", infer_schema=False)
    shares = register["relation"].value_counts(normalize=True)
    share = dict(zip(shares["relation"], shares["proportion"], strict=True))
    assert 0.2 < share["配偶"] < 0.45 and share["子女"] > 0.05
    assert 360 <= register.height <= 400  # about 3 % absent from the register


def test_link_tables_of_a_directory_feed_the_matcher(tmp_path: Path) -> None:
    from matcher.evaluate import match_frame
    from profiles.build import build_snapshot
    from profiles.relations import load_link_tables
    from rules.loader import bundled_library

    as_of = dt.date(2025, 10, 1)
    synthesize(tmp_path, enterprises=50, persons=3000, seed=4)
    build_snapshot(tmp_path, entity="person", as_of=as_of, out=tmp_path / "p.parquet")
    links, rejects = load_link_tables(tmp_path)
    assert set(links) == {"households", "employment_links"} and rejects.height == 0
    people = derive(pl.read_parquet(tmp_path / "p.parquet"), entity="person",
                    as_of=as_of).collect()
    lib = bundled_library()

    def outcomes(related: object) -> list[str]:
        out = match_frame(people, entity="person", policies=lib.policies.values(),
                          as_of=as_of, sets=lib.sets, related=related)  # type: ignore[arg-type]
        return out.filter(pl.col("policy_id") == "family-planning-special-support")[
            "outcome"].to_list()

    without = outcomes(None)
    with_register = outcomes(related_frames(persons=people, households=links["households"]))
    assert without and set(without) == {"undetermined"}  # no register: the spouse UNKNOWN
    assert "eligible" in with_register  # the register decides


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["A", "B", None]),
                          st.sampled_from([0.0, -0.0, float("nan"), 1.5, None]),
                          st.sampled_from([dt.date(2024, 1, 1), None])), max_size=40))
def test_repeated_links_merge_to_their_first_as_unique_does(
        rows: list[tuple[object, object, object]]) -> None:
    frame = pl.DataFrame(rows, schema={"k": pl.String, "x": pl.Float64, "d": pl.Date},
                         orient="row").with_row_index("__row", offset=1)
    expected = frame.unique(subset=["k", "x", "d"], keep="first", maintain_order=True)
    assert _first_of_repeats(frame, ["k", "x", "d"]).equals(expected)
