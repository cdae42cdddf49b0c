"""Synthetic values of the fields read by the VAT super-credit policies (增值税加计抵减) and the
individual income tax deductions (个税专项附加扣除 for continuing education, housing and
serious illness; 个人养老金 and 商业健康保险), and the 老年人能力综合评估 of some elderly
people, drawn from their own generator so that the other columns do not change.

Frequencies are rough orders of magnitude of the real populations: a general VAT taxpayer's
deductible input VAT of a few per cent of its monthly sales; about half the certified
high-tech manufacturers on the 先进制造业企业名单 and a few electronics firms on the
集成电路企业清单; among adults, about 1-2 % in 学历继续教育, 2 % obtaining a 职业资格 each
year, a quarter repaying a first-home loan, a majority owning a home where they work, and a
few per cent with more than 15,000 元 of self-paid medical costs in a year, one in twelve
paying into a 个人养老金 account and one in twenty holding a 税优健康险 policy; among firms,
about a third of software and electronics general taxpayers selling their own software, a
quarter of those in 陕西 or 新疆 mainly in an encouraged industry, and 30,000-80,000 元 a year
paid to each disabled employee, a third buying equipment; among people over 60, 15 %
(40 % over 80) assessed for care; 0.6 % of adults certified 重点群体 for self-employment.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from profiles.synth.common import (
    ages_on,
    choose,
    days_before,
    merge_department,
    where_or_null,
    with_missing,
)

MANUFACTURING = tuple(str(d) for d in range(13, 44))
"""GB/T 4754-2017 门类 C (制造业): divisions 13-43."""



def add_enterprise_tax_fields(frames: dict[str, pl.DataFrame],
                              rng: np.random.Generator) -> None:
    tax = frames["税务"]
    n = tax.height
    sales = tax["monthly_sales"].fill_null(0.0).to_numpy()
    general = (tax["vat_taxpayer_type"] == "一般纳税人").fill_null(False).to_numpy()
    input_vat = np.where(general, np.round(sales * rng.uniform(0.03, 0.10, size=n), 2),
                         np.round(sales * rng.uniform(0.0, 0.02, size=n), 2))
    merge_department(frames, "税务", with_missing(
        rng, pl.DataFrame({"uscc": tax["uscc"], "input_vat_monthly": input_vat}),
        keep=("uscc",)), "uscc")
    registry = frames["市场监管"].select("uscc", "industry_code")
    # 软件产品: some software and electronics firms sell their own software products
    software_firm = (registry.join(tax.select("uscc"), on="uscc", how="right",
                                  maintain_order="right")["industry_code"]
                     .fill_null("").str.slice(0, 2).is_in(["39", "64", "65"]).to_numpy())
    sells = software_firm & general & (rng.random(n) < 0.3)
    soft_sales = np.where(sells, np.round(sales * rng.uniform(0.3, 1.0, size=n), 2), 0.0)
    soft_vat = np.where(sells, np.round(soft_sales * rng.uniform(0.005, 0.10, size=n), 2), 0.0)
    merge_department(frames, "税务", with_missing(rng, pl.DataFrame({
        "uscc": tax["uscc"], "software_sales_monthly": soft_sales,
        "software_vat_monthly": soft_vat}), keep=("uscc",)), "uscc")
    # 西部大开发 and 新疆困难地区: the CIT return's shares (0 where the firm reports none) and
    # every firm's first operating income (within 18 months of registration)
    registered = (frames["市场监管"].select("uscc", "district", "founded_on")
                  .join(tax.select("uscc"), on="uscc", how="right", maintain_order="right"))
    prefix = registered["district"].fill_null("").str.slice(0, 2)
    west = prefix.is_in(["61", "65"]).to_numpy()
    founded = registered["founded_on"]
    new_xj = (prefix == "65").to_numpy() & (founded >= date(2021, 1, 1)).fill_null(False) \
        .to_numpy()
    encouraged = np.where(rng.random(n) < 0.3, np.round(rng.uniform(0.5, 1.0, size=n), 4),
                          np.round(rng.uniform(0.0, 0.3, size=n), 4))
    catalog = np.where(rng.random(n) < 0.3, np.round(rng.uniform(0.6, 1.0, size=n), 4),
                       np.round(rng.uniform(0.0, 0.4, size=n), 4))
    lag = pl.Series(rng.integers(0, 540, size=n))
    # (a firm whose registration date is missing from its extract still has a first income)
    start = founded.fill_null(date(2015, 1, 1))
    first_income = pl.select(pl.lit(start) + pl.duration(days=pl.lit(lag))).to_series()
    merge_department(frames, "税务", with_missing(rng, pl.DataFrame({
        "uscc": tax["uscc"],
        "western_encouraged_revenue_ratio": np.where(west, encouraged, 0.0),
        "xj_catalog_revenue_ratio": np.where(new_xj, catalog, 0.0),
        "first_operating_income_on": first_income}), keep=("uscc",)), "uscc")
    # 设备、器具: about a third of firms buy some at 500万元 or less a unit in a year
    revenue = tax["operating_revenue"].fill_null(0.0).to_numpy()
    bought = np.where(rng.random(n) < 0.35,
                      np.round(np.minimum(revenue * rng.uniform(0.01, 0.1, size=n), 5e7), 2), 0.0)
    merge_department(frames, "税务", with_missing(rng, pl.DataFrame({
        "uscc": tax["uscc"], "small_equipment_purchased": bought}), keep=("uscc",)), "uscc")
    # 残疾职工工资: what firms employing disabled people (残联 count) paid them this year
    disabled = frames["残联"].select("uscc", "disabled_employees").join(
        tax.select("uscc"), on="uscc", how="right", maintain_order="right"
    )["disabled_employees"].fill_null(0).to_numpy()
    wages = np.round(disabled * rng.uniform(30_000, 80_000, size=n), 2)
    merge_department(frames, "税务", with_missing(rng, pl.DataFrame({
        "uscc": tax["uscc"], "disabled_staff_wages": wages}), keep=("uscc",)), "uscc")
    science = frames["科技"].select("uscc", "high_tech_cert_on")
    firms = registry.join(science, on="uscc", how="left")
    code = firms["industry_code"].fill_null("")
    m = firms.height
    draw = rng.random(m)
    manufacturer = code.str.slice(0, 2).is_in(list(MANUFACTURING)).to_numpy()
    certified = firms["high_tech_cert_on"].is_not_null().to_numpy()
    advanced = manufacturer & certified & (draw < 0.5)
    electronics = code.str.slice(0, 2).is_in(["39", "65"]).to_numpy()
    ic = electronics & (rng.random(m) < np.where(certified, 0.15, 0.01))
    machine_tool = code.str.slice(0, 2).is_in(["34"]).to_numpy() & (rng.random(m) < 0.05)
    rd_listed = (ic & (rng.random(m) < 0.8)) | machine_tool
    listed = pl.DataFrame({
        "uscc": firms["uscc"],
        "advanced_manufacturing_listed": where_or_null(advanced, True, dtype=pl.Boolean()),
        "ic_vat_credit_listed": where_or_null(ic, True, dtype=pl.Boolean()),
        "ic_machine_tool_rd_listed": where_or_null(rd_listed, True, dtype=pl.Boolean()),
    })
    listed = listed.filter(pl.col("advanced_manufacturing_listed").is_not_null()
                           | pl.col("ic_vat_credit_listed").is_not_null()
                           | pl.col("ic_machine_tool_rd_listed").is_not_null())
    merge_department(frames, "工信", listed, "uscc")


def add_person_deduction_fields(frames: dict[str, pl.DataFrame], rng: np.random.Generator, *,
                                reference: date) -> None:
    police = frames["公安"]
    ids = police["id_number"]
    n = police.height
    age = ages_on(police, reference)
    adult = (age >= 18) & (age < 65)
    # 教育: 学历(学位)继续教育 (enrolled in the last five years)
    study = np.flatnonzero((age >= 20) & (age <= 50) & (rng.random(n) < 0.015))
    merge_department(frames, "教育", pl.DataFrame({
        "id_number": ids.gather(study),
        "degree_continuing_education_from": days_before(
            reference, rng.integers(0, 5 * 365, size=len(study))),
    }), "id_number")
    # 人社: 职业资格 obtained in the last three years; main work city (mostly the hukou city)
    qualified = np.flatnonzero((age >= 20) & (age <= 60) & (rng.random(n) < 0.06))
    merge_department(frames, "人社", pl.DataFrame({
        "id_number": ids.gather(qualified),
        "vocational_qualification_on": days_before(
            reference, rng.integers(0, 3 * 365, size=len(qualified))),
    }), "id_number")
    workers = np.flatnonzero(adult & (age >= 22))
    hukou = police["hukou_district"].gather(workers)
    elsewhere = pl.Series(rng.random(len(workers)) < 0.2)
    other = hukou.gather(rng.permutation(len(workers)))
    work = pl.select(pl.when(elsewhere).then(other).otherwise(hukou)).to_series()
    merge_department(frames, "人社", with_missing(rng, pl.DataFrame({
        "id_number": ids.gather(workers), "work_district": work}), keep=("id_number",)),
        "id_number")
    # 住建: first-home loans, home ownership where one works (list-type), registered leases
    borrower = np.flatnonzero((age >= 25) & (age <= 62) & (rng.random(n) < 0.25))
    years = np.minimum(rng.exponential(7.0, size=len(borrower)), 25.0)
    merge_department(frames, "住建", pl.DataFrame({
        "id_number": ids.gather(borrower),
        "first_home_loan_from": days_before(reference, (years * 365.25).astype(np.int64)),
    }), "id_number")
    owner_draw = rng.random(len(workers))
    owns = owner_draw < 0.6
    owners = pl.DataFrame({"id_number": ids.gather(workers[owns]),
                           "owns_home_in_work_city": np.ones(int(owns.sum()), dtype=bool)})
    merge_department(frames, "住建", owners, "id_number")
    renting = ~owns & (rng.random(len(workers)) < 0.55)
    merge_department(frames, "住建", pl.DataFrame({
        "id_number": ids.gather(workers[renting]),
        "renting_in_work_city": np.ones(int(renting.sum()), dtype=bool)}), "id_number")
    # 人社: 个人养老金 contributions this year (many at the 12,000 元 ceiling)
    saver = np.flatnonzero(adult & (age >= 22) & (rng.random(n) < 0.08))
    full = rng.random(len(saver)) < 0.4
    paid_in = np.where(full, 12_000.0, np.round(rng.uniform(100, 12_000, size=len(saver)), 2))
    merge_department(frames, "人社", pl.DataFrame({"id_number": ids.gather(saver),
                                         "personal_pension_paid": paid_in}), "id_number")
    # 税务: 税优商业健康保险 premiums on the platform for everyone (0 when none; a few per cent
    # of workers hold a policy, many at the 2,400 元 cap)
    holder = adult & (age >= 22) & (rng.random(n) < 0.05)
    premium = np.where(holder, np.where(rng.random(n) < 0.5, 2400.0,
                                        np.round(rng.uniform(300, 4000, size=n), 2)), 0.0)
    merge_department(frames, "税务", with_missing(rng, pl.DataFrame({
        "id_number": ids, "health_insurance_premium": premium}), keep=("id_number",)),
        "id_number")
    # 人社 / 市场监管: 重点群体 certified for self-employment tax relief, most of them running
    # a 个体工商户 registered in the last five years
    certified = np.flatnonzero((age >= 20) & (age <= 60) & (rng.random(n) < 0.006))
    merge_department(frames, "人社", pl.DataFrame({
        "id_number": ids.gather(certified),
        "key_group_startup_certified": np.ones(len(certified), dtype=bool)}), "id_number")
    running = certified[rng.random(len(certified)) < 0.7]
    merge_department(frames, "市场监管", pl.DataFrame({
        "id_number": ids.gather(running),
        "own_business_registered_on": days_before(
            reference, rng.integers(0, 5 * 365, size=len(running)))}), "id_number")
    # 民政: 老年人能力综合评估 of some elderly people (list-type: only those assessed)
    assessed = np.flatnonzero((age >= 60) & (rng.random(n) < np.where(age >= 80, 0.4, 0.15)))
    level = choose(rng, ("能力完好", "轻度失能", "中度失能", "重度失能"), (0.45, 0.25, 0.17, 0.13),
                   len(assessed))
    merge_department(frames, "民政", pl.DataFrame({"id_number": ids.gather(assessed),
                                         "elderly_care_level": level}), "id_number")
    # 医保: self-paid medical costs in the catalogue this year (a long tail)
    insured = np.flatnonzero(rng.random(n) < 0.95)
    scale = np.where(age[insured] >= 60, 2500.0, 700.0)
    paid = np.round(rng.lognormal(0.0, 1.3, size=len(insured)) * scale, 2)
    merge_department(frames, "医保", with_missing(rng, pl.DataFrame({
        "id_number": ids.gather(insured), "medical_self_paid": paid}), keep=("id_number",)),
        "id_number")
