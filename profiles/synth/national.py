"""Synthetic values of the fields added for the national policies (catalog block "national
policies"), drawn from their own generator so that the other columns do not change.

Frequencies are rough orders of magnitude of the real populations: a firm's 在职职工 close to
its 从业人数 (劳务派遣 excluded); a few firms hiring 就业困难人员, 重点群体 or 退役士兵 in a
year; about one adult in four with a child in education and about half of adults under 60
with a parent aged 60 or more; 计划生育手术并发症 rare; 技能证书 a few per cent of workers.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from profiles.synth.common import (
    ages_on,
    choose,
    choose_idx,
    days_before,
    merge_department,
    with_missing,
)


def add_enterprise_fields(frames: dict[str, pl.DataFrame], rng: np.random.Generator) -> None:
    tax = frames["税务"]
    n = tax.height
    employees = tax["employees"].fill_null(0).to_numpy()
    payroll = np.maximum(np.round(employees * rng.uniform(0.85, 1.0, size=n)), 0).astype(np.int64)
    merge_department(frames, "税务", with_missing(
        rng, pl.DataFrame({"uscc": tax["uscc"], "staff_on_payroll": payroll}), keep=("uscc",)),
        "uscc")
    disabled = pl.DataFrame({"uscc": tax["uscc"],
                             "disabled_employees": rng.poisson(payroll * 0.008)})
    merge_department(frames, "残联", disabled.filter(pl.Series(rng.random(n) < 0.9)), "uscc")
    insured = frames["人社"]
    m = insured.height
    heads = insured["insured_employees"].fill_null(0).to_numpy()
    hires = pl.DataFrame({
        "uscc": insured["uscc"],
        "hard_to_employ_hires": rng.poisson(heads * 0.004),
        "key_group_hires": rng.poisson(heads * 0.006),
    })
    merge_department(frames, "人社", with_missing(rng, hires, keep=("uscc",)), "uscc")
    veterans = rng.poisson(heads * 0.003)
    merge_department(frames, "退役军人事务", pl.DataFrame(
        {"uscc": insured["uscc"], "veteran_hires": veterans}).filter(
            pl.Series(rng.random(m) < 0.9)), "uscc")


def add_person_fields(frames: dict[str, pl.DataFrame], rng: np.random.Generator, *,
                      reference: date) -> None:
    police = frames["公安"]
    ids = police["id_number"]
    n = police.height
    age = ages_on(police, reference)
    parent_age = (age >= 25) & (age <= 55)
    in_school = np.where(parent_age, choose_idx(rng, (0.55, 0.33, 0.11, 0.01), n), 0)
    merge_department(frames, "教育", with_missing(
        rng, pl.DataFrame({"id_number": ids, "children_in_education": in_school}),
        keep=("id_number",)), "id_number")
    elders = np.where(age < 25, 0, np.where(age > 60, 0, choose_idx(rng, (0.45, 0.3, 0.25), n)))
    merge_department(frames, "公安", with_missing(
        rng, pl.DataFrame({"id_number": ids, "parents_aged_60_plus": elders}),
        keep=("id_number",)), "id_number")
    born_after_1980 = age <= (reference.year - 1980)
    only = rng.random(n) < np.where(born_after_1980, 0.35, 0.08)
    merge_department(frames, "卫健", with_missing(
        rng, pl.DataFrame({"id_number": ids, "only_child": only}), keep=("id_number",)),
        "id_number")
    complication = np.flatnonzero((age >= 30) & (rng.random(n) < 0.0008))
    grades = choose_idx(rng, (0.2, 0.3, 0.5), len(complication)) + 1
    merge_department(frames, "卫健", pl.DataFrame({"id_number": ids.gather(complication),
                                         "fp_complication_grade": grades}), "id_number")
    adults = np.flatnonzero((age >= 18) & (age < 60))
    months = np.minimum(rng.integers(0, 480, size=len(adults)),
                        ((age[adults] - 18) * 12).astype(np.int64))
    insured = pl.DataFrame({"id_number": ids.gather(adults), "ui_insured_months": months})
    merge_department(frames, "人社", with_missing(rng, insured, keep=("id_number",)), "id_number")
    certified = adults[rng.random(len(adults)) < 0.03]
    certs = pl.DataFrame({
        "id_number": ids.gather(certified),
        "skill_cert_level": choose(rng, ("初级", "中级", "高级"), (0.5, 0.35, 0.15),
                                   len(certified)),
        "skill_cert_on": days_before(reference, rng.integers(0, 3 * 365, size=len(certified))),
    })
    merge_department(frames, "人社", certs, "id_number")
    veterans = np.flatnonzero((age >= 22) & (age <= 55) & (rng.random(n) < 0.004))
    merge_department(frames, "退役军人事务", pl.DataFrame({
        "id_number": ids.gather(veterans), "self_employed_veteran": np.ones(len(veterans),
                                                                            dtype=bool)}),
        "id_number")
