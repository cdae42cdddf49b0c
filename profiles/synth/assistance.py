"""Synthetic values of the fields read by the 失业保险 and 社会救助 policies (catalog block
"失业保险、社会救助"): 失业登记, 领取失业保险金, 基本医疗保险参保类型 and 在读教育阶段, drawn
from their own generator so that the other columns do not change.

Frequencies are rough orders of magnitude of the real populations: about one working-age
person out of work in six registered as unemployed, half of those with a year of 失业保险
contributions drawing the benefit; nine in ten workers in 职工医保 and most others in 居民医保
(a few per cent uninsured); children at school by age (学前 3-5, 义务教育 6-14, 高中 or 中职
15-17, about half of 18-22 in higher education); about one adult of 20-65 in twenty running a
个体工商户 registered in the last fifteen years, besides the 重点群体 ones of
``profiles.synth.tax_relief``.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from profiles.synth.common import ages_on, days_before, merge_department, pick, with_missing

STAGES = ("学前教育", "义务教育", "普通高中", "中等职业教育", "普通高等教育", "未在读")


def add_assistance_fields(frames: dict[str, pl.DataFrame], rng: np.random.Generator, *,
                          reference: date) -> None:
    police = frames["公安"]
    ids = police["id_number"]
    n = police.height
    age = ages_on(police, reference)
    known = police.select("id_number")
    status = _column(known, frames.get("人社"), "employed")
    employed = status.fill_null(False).to_numpy()
    out_of_work = (~status.fill_null(True)).to_numpy()  # known not to be employed
    months = _column(known, frames.get("人社"), "ui_insured_months").fill_null(0).to_numpy()

    working_age = (age >= 16) & (age < 60)
    registered = working_age & out_of_work & (rng.random(n) < 0.17)
    receiving = registered & (months >= 12) & (rng.random(n) < 0.5)
    merge_department(frames, "人社", with_missing(rng, pl.DataFrame({
        "id_number": ids, "registered_unemployed": registered,
        "receiving_ui_benefit": receiving}), keep=("id_number",)), "id_number")

    in_employee_scheme = employed & (rng.random(n) < 0.9)
    kind = pick(("职工医保", "居民医保", "未参保"), np.where(
        in_employee_scheme, 0, np.where(rng.random(n) < 0.96, 1, 2)))
    merge_department(frames, "医保", with_missing(rng, pl.DataFrame({
        "id_number": ids, "medical_insurance_type": kind}), keep=("id_number",)), "id_number")

    _add_business_owners(frames, rng, ids, age, reference)

    stage = pick(STAGES, _stage_index(rng, age))
    merge_department(frames, "教育", with_missing(rng, pl.DataFrame({
        "id_number": ids, "education_stage": stage}), keep=("id_number",)), "id_number")


def _add_business_owners(frames: dict[str, pl.DataFrame], rng: np.random.Generator,
                         ids: pl.Series, age: np.ndarray, reference: date) -> None:
    """市场监管: 个体工商户 registrations of persons the extract does not list yet."""
    listed = frames["市场监管"]["id_number"] if "市场监管" in frames \
        else pl.Series([], dtype=pl.String)
    new = (age >= 20) & (age <= 65) & (rng.random(len(age)) < 0.05) \
        & ~ids.is_in(listed.implode()).to_numpy()
    idx = np.flatnonzero(new)
    rows = pl.DataFrame({
        "id_number": ids.gather(idx),
        "own_business_registered_on": days_before(reference,
                                                  rng.integers(30, 15 * 365, size=len(idx))),
    })
    frames["市场监管"] = rows if "市场监管" not in frames else pl.concat(
        [frames["市场监管"], rows], how="diagonal_relaxed")


def _stage_index(rng: np.random.Generator, age: np.ndarray) -> np.ndarray:
    n = len(age)
    out = np.full(n, STAGES.index("未在读"), dtype=np.int64)
    draw = rng.random(n)
    out[(age >= 3) & (age < 6) & (draw < 0.88)] = STAGES.index("学前教育")
    out[(age >= 6) & (age < 15) & (draw < 0.99)] = STAGES.index("义务教育")
    upper = (age >= 15) & (age < 18)
    out[upper & (draw < 0.55)] = STAGES.index("普通高中")
    out[upper & (draw >= 0.55) & (draw < 0.9)] = STAGES.index("中等职业教育")
    out[(age >= 18) & (age < 23) & (draw < 0.5)] = STAGES.index("普通高等教育")
    return out


def _column(known: pl.DataFrame, frame: pl.DataFrame | None, name: str) -> pl.Series:
    """``name`` from a department frame, in the order of ``known`` (null where absent)."""
    if frame is None or name not in frame.columns:
        return pl.Series(name, [None] * known.height)
    return known.join(frame.select("id_number", name), on="id_number", how="left",
                      maintain_order="left")[name]

