"""The tax policies read as 财政部 税务总局公告2023年第12号 says (library.md, Corrections):

- 第五条 defines 小型微利企业: 从事国家非限制和禁止行业, 年度应纳税所得额不超过300万元,
  从业人数不超过300人, 资产总额不超过5000万元 — no lower bound on the income, and the
  restricted-industry test is the taxpayer's answer on the CIT return (restricted_industry).
- 第二条: 对增值税小规模纳税人、小型微利企业和个体工商户减半征收 六税两费.

Each case is written from those sentences, not from the engine's output; the ``evaluate``
fixture runs the polars compiler and holds it to the reference interpreter row by row.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from profiles.derive import derive

Evaluate = Callable[..., list]

SMALL = {"status": "存续", "restricted_industry": False, "annual_taxable_income": 3_000_000.0,
         "employees": 300, "total_assets": 50_000_000.0}
GENERAL = {"vat_taxpayer_type": "一般纳税人", "individual_business": False}


def test_a_loss_making_firm_is_small_low_profit_and_saves_no_tax(evaluate: Evaluate) -> None:
    out = evaluate("cit-small-low-profit", [
        {**SMALL, "annual_taxable_income": -500_000.0},
        {**SMALL, "annual_taxable_income": 0.0},
        {**SMALL, "annual_taxable_income": 0.01}])
    assert [o.truth for o in out] == [True, True, True]
    assert [o.amount for o in out] == [0.0, 0.0, 0.002]


def test_restricted_industry_is_read_from_the_tax_return_three_valued(
        evaluate: Evaluate) -> None:
    out = evaluate("cit-small-low-profit", [
        SMALL, {**SMALL, "restricted_industry": True}, {**SMALL, "restricted_industry": None},
        {**SMALL, "restricted_industry": False, "industry_code": "1620"}])
    # the answer decides; an unanswered return is UNKNOWN (not a list-type field); the
    # industry code alone (卷烟制造) decides nothing
    assert [o.truth for o in out] == [True, False, None, True]
    assert out[2].conditions["c2"] is None


def test_six_taxes_for_an_individual_business_that_is_neither_small_scale_nor_small_profit(
        evaluate: Evaluate) -> None:
    big = {**SMALL, "employees": 301}  # not 小型微利
    out = evaluate("six-taxes-two-fees-half", [
        {**big, **GENERAL, "individual_business": True},
        {**big, **GENERAL},
        {**big, **GENERAL, "individual_business": None}])
    assert [o.truth for o in out] == [True, False, None]


def test_six_taxes_for_a_loss_making_general_taxpayer_that_is_small_low_profit(
        evaluate: Evaluate) -> None:
    out = evaluate("six-taxes-two-fees-half", [
        {**SMALL, **GENERAL, "annual_taxable_income": -1.0},
        {**SMALL, **GENERAL, "annual_taxable_income": -1.0, "restricted_industry": None}])
    assert [o.truth for o in out] == [True, None]


def test_individual_business_is_derived_from_the_uscc_prefix_92() -> None:
    import datetime as dt

    df = pl.DataFrame({"uscc": ["92440101MA5XXXXX1X", "91440101MA5XXXXX1X", None]})
    out = derive(df, entity="enterprise", as_of=dt.date(2025, 6, 30)).collect()
    assert out["individual_business"].to_list() == [True, False, None]


def test_restricted_industry_set_members_are_pending_and_its_codes_are_fixed(library) -> None:
    named = library.sets["国家限制和禁止行业"]
    assert named.contains("1620") is None      # 卷烟制造: 待核
    assert named.contains("1610") is False     # 烟叶复烤 is not 卷烟制造
    assert named.contains("9041") is False     # 体育彩票服务 is not a restricted industry
    assert named.items == ()                   # nothing is certain until it is checked


def test_small_low_profit_cites_article_five_on_its_thresholds(library) -> None:
    cit = library["cit-small-low-profit"]
    assert {c.clause for c in cit.conditions[1:]} == {"第五条"}
    assert "第五条" in (cit.basis.clause or "")
