"""`mianshen match --links/--persons` reads the household register and the employment links
as the nightly run does, and `--awards` the award ledger: 特扶 decided for a husband through
his wife's age, 小巨人 once per firm."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import polars as pl
from typer.testing import CliRunner

from api.cli import app
from profiles.idcheck import id_number_with_check
from tests.matcher.conftest import valid_uscc

runner = CliRunner()
# 17th digit odd: 男, even: 女
HUSBAND, WIFE = id_number_with_check(np.array([b"44010619730101001", b"44010619760930002"]))
AS_OF = "2025-09-30"  # the wife turns 49 on this day


def _csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _outcome(out: Path, entity: str, policy: str) -> str | None:
    rows = pl.read_csv(out, infer_schema=False).filter(pl.col("entity_id") == entity,
                                   pl.col("policy_id") == policy)
    return rows["outcome"][0] if rows.height else None


def _couple(tmp_path: Path, *, husband_child: str) -> tuple[Path, Path]:
    """A couple of 440106 (the wife turns 49 on AS_OF, her only child died) and the
    household register that links them; the husband's only-child status as given."""
    people = _csv(tmp_path / "persons.csv",
                  ["id_number", "birth_date", "hukou_district", "alive", "only_child_status"],
                  [[HUSBAND, "1973-01-01", "440106", "true", husband_child],
                   [WIFE, "1976-09-30", "440106", "true", "死亡"]])
    links = tmp_path / "links"
    links.mkdir()
    _csv(links / "households_公安.csv", ["household_id", "id_number", "relation"],
         [["H1", HUSBAND, "户主"], ["H1", WIFE, "配偶"]])
    return people, links


def test_a_husband_is_decided_on_his_wifes_age_with_the_household_register(
        tmp_path: Path) -> None:
    people, links = _couple(tmp_path, husband_child="死亡")
    args = ["match", "--entity", "person", "--profiles", str(people), "--as-of", AS_OF]
    without = runner.invoke(app, [*args, "--out", str(tmp_path / "a.csv")])
    assert without.exit_code == 0, without.output
    assert _outcome(tmp_path / "a.csv", HUSBAND, "family-planning-special-support") \
        == "undetermined"  # no spouse on record: his wife's age is unknown
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "b.csv"), "--links", str(links)])
    assert result.exit_code == 0, result.output
    assert "关联表：household.members、spouse，隔离 0 行" in result.output
    for pid in (HUSBAND, WIFE):
        assert _outcome(tmp_path / "b.csv", pid, "family-planning-special-support") == "eligible"


def test_the_award_file_pays_the_little_giant_reward_once_per_firm(tmp_path: Path) -> None:
    paid, due = valid_uscc("9144010600000010"), valid_uscc("9144010600000011")
    firms = _csv(tmp_path / "firms.csv", ["uscc", "district", "status", "little_giant_on"],
                 [[paid, "440106", "存续", "2025-07-15"], [due, "440106", "存续", "2025-07-15"]])
    awards = _csv(tmp_path / "awards.csv",
                  ["policy_id", "entity_id", "benefit_period", "amount", "granted_on"],
                  [["gz-little-giant-reward", paid, "once", "1000000", "2026-02-12"]])
    args = ["match", "--entity", "enterprise", "--profiles", str(firms), "--as-of", "2026-03-01"]
    plain = runner.invoke(app, [*args, "--out", str(tmp_path / "a.csv")])
    assert plain.exit_code == 0, plain.output
    assert _outcome(tmp_path / "a.csv", due, "gz-little-giant-reward") == "undetermined"
    partial = runner.invoke(app, [*args, "--out", str(tmp_path / "b.csv"),
                                  "--awards", str(awards)])
    assert partial.exit_code == 0, partial.output
    assert _outcome(tmp_path / "b.csv", paid, "gz-little-giant-reward") is None  # ineligible
    assert _outcome(tmp_path / "b.csv", due, "gz-little-giant-reward") == "undetermined"
    complete = runner.invoke(app, [*args, "--out", str(tmp_path / "c.csv"),
                                   "--awards", str(awards),
                                   "--awards-complete-from", "2025-08-23"])
    assert complete.exit_code == 0, complete.output
    assert "奖励台账：1 笔，隔离 0 行" in complete.output
    assert _outcome(tmp_path / "c.csv", paid, "gz-little-giant-reward") is None
    assert _outcome(tmp_path / "c.csv", due, "gz-little-giant-reward") == "eligible"


def test_explain_says_why_through_the_wifes_age_and_the_award_file(tmp_path: Path) -> None:
    """`mianshen explain` decides with the same register and ledger as `mianshen match`:
    the husband's 特扶 condition on his spouse is met (not 未知), the paid firm's
    小巨人 reward says it was received."""
    people, links = _couple(tmp_path, husband_child="死亡")
    args = ["explain", "--entity", "person", "--profiles", str(people), "--as-of", AS_OF,
            "--id", HUSBAND, "--policy", "family-planning-special-support"]
    blind = runner.invoke(app, args)
    assert blind.exit_code == 0, blind.output
    assert "结果：待确认" in blind.output and "未知 — 需补充  配偶" in blind.output
    seen = runner.invoke(app, [*args, "--links", str(links)])
    assert seen.exit_code == 0, seen.output
    assert "结果：符合" in seen.output and "未知" not in seen.output, seen.output
    assert "配偶（如有）满足：出生日期不低于 1933-01-01  当前：满足" in seen.output
    # the wife's age is what decides 女方年满49周岁 for him: shown, not only his own
    assert "当前：性别 男；年龄 52 岁；配偶的年龄 49 岁" in seen.output, seen.output

    paid = valid_uscc("9144010600000010")
    firms = _csv(tmp_path / "firms.csv", ["uscc", "district", "status", "little_giant_on"],
                 [[paid, "440106", "存续", "2025-07-15"]])
    awards = _csv(tmp_path / "awards.csv",
                  ["policy_id", "entity_id", "benefit_period", "amount", "granted_on"],
                  [["gz-little-giant-reward", paid, "once", "1000000", "2026-02-12"]])
    firm_args = ["explain", "--entity", "enterprise", "--profiles", str(firms),
                 "--as-of", "2026-03-01", "--id", paid, "--policy", "gz-little-giant-reward",
                 "--awards", str(awards), "--awards-complete-from", "2025-08-23"]
    told = runner.invoke(app, firm_args)
    assert told.exit_code == 0, told.output
    assert "结果：不符合" in told.output, told.output
    assert "✗ 不满足  未获得过本项奖励" in told.output, told.output
    assert "认定日期的年份为 2025  当前：2025" in told.output  # a year, not 2,025


def test_events_replay_decides_the_husband_on_his_wifes_age_as_the_match_does(
        tmp_path: Path) -> None:
    """Real time: an event completes the husband's record; with the household register the
    event engine reads his wife's age through the register, as `mianshen match` does."""
    people, links = _couple(tmp_path, husband_child="")
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps({"entity_id": HUSBAND, "set": {"only_child_status": "死亡"}},
                                 ensure_ascii=False) + "\n", encoding="utf-8")
    args = ["events", "replay", "--entity", "person", "--profiles", str(people),
            "--events", str(events), "--as-of", AS_OF]
    without = runner.invoke(app, [*args, "--out", str(tmp_path / "a.csv")])
    assert without.exit_code == 0, without.output
    assert _outcome(tmp_path / "a.csv", HUSBAND, "family-planning-special-support") \
        == "undetermined"  # no register: his wife's age is unknown
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "b.csv"),
                                 "--links", str(links)])
    assert result.exit_code == 0, result.output
    for pid in (HUSBAND, WIFE):
        assert _outcome(tmp_path / "b.csv", pid, "family-planning-special-support") \
            == "eligible"
    # the day before the wife turns 49 the register decides it the other way
    early = runner.invoke(app, [*args[:-1], "2025-09-29", "--out", str(tmp_path / "c.csv"),
                                "--links", str(links)])
    assert early.exit_code == 0, early.output
    assert _outcome(tmp_path / "c.csv", HUSBAND, "family-planning-special-support") is None
