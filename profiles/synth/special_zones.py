"""Synthetic values of the fields read by the special-zone and 粤港澳大湾区 policies (广州南沙
企业所得税 and 港澳居民个人所得税, 新疆喀什经济开发区 企业所得税, 广州市境外人才个人所得税补贴),
drawn from their own generator so that the other columns do not change.

Frequencies are rough orders of magnitude: about half the firms registered in 南沙区 sit in the
先行启动区; about six in ten 南沙 firms have their main business in the 优惠目录, three in ten in
its 高新技术重点行业 class (seven in ten of the certified high-tech firms); half the firms of
喀什市 are in the 喀什经济开发区; a few per cent of firms registered as 科技型中小企业 in the
last three years. Among people working in 广州, one in seven of those in 南沙 and one in fifty
elsewhere hold Hong Kong or Macao residence, and the recognised 境外人才 are mostly among them;
every worker's taxable income and the tax paid on it follow the annual comprehensive-income
table, with recognised talents paid far above the median.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from profiles.synth.common import choose, days_before, merge_department, with_missing

NANSHA = "440115"
KASHGAR_CITY = "653101"
NANSHA_CLASSES = ("信息技术", "先进制造", "生物医药", "新能源与新材料", "航运物流", "现代服务业",
                  "金融业")
"""The 优惠目录 classes other than 高新技术重点行业 (财税〔2022〕40号 附件)."""

# annual comprehensive-income brackets (upper bound of taxable income, rate, quick deduction)
IIT_BRACKETS: tuple[tuple[float, float, float], ...] = (
    (36_000, 0.03, 0), (144_000, 0.10, 2_520), (300_000, 0.20, 16_920),
    (420_000, 0.25, 31_920), (660_000, 0.30, 52_920), (960_000, 0.35, 85_920),
    (float("inf"), 0.45, 181_920),
)


def annual_iit(taxable: np.ndarray) -> np.ndarray:
    """The tax on an annual comprehensive taxable income, to the fen."""
    tax = np.zeros_like(taxable)
    lower = -np.inf
    for upper, rate, quick in IIT_BRACKETS:
        band = (taxable > lower) & (taxable <= upper)
        tax = np.where(band, taxable * rate - quick, tax)
        lower = upper
    return np.round(np.maximum(tax, 0.0), 2)


def add_zone_fields(frames: dict[str, pl.DataFrame], rng: np.random.Generator, *,
                    reference: date) -> None:
    registry = frames["市场监管"]
    n = registry.height
    district = registry["district"].fill_null("").to_numpy().astype(str)
    nansha = district == NANSHA
    kashgar = district == KASHGAR_CITY
    draw = rng.random(n)
    zone = np.where(nansha & (draw < 0.5), "南沙先行启动区",
                    np.where(kashgar & (draw < 0.5), "喀什经济开发区", ""))
    listed = zone != ""
    merge_department(frames, "市场监管", pl.DataFrame({
        "uscc": registry["uscc"].filter(pl.Series(listed)),
        "special_zone": zone[listed]}), "uscc")
    # certified high-tech firms mostly work in the 高新技术重点行业 class
    certified = registry.select("uscc").join(
        frames["科技"].select("uscc", "high_tech_cert_on"), on="uscc", how="left",
        maintain_order="left")["high_tech_cert_on"].is_not_null().to_numpy()
    cls = rng.random(n)
    other = choose(rng, NANSHA_CLASSES, (1,) * len(NANSHA_CLASSES), n).to_numpy().astype(str)
    key = np.where(certified, 0.7, 0.28)
    category = np.where(nansha & (cls < key), "高新技术重点行业",
                        np.where(nansha & (cls < key + 0.3), other, "目录外"))
    merge_department(frames, "税务", with_missing(rng, pl.DataFrame({
        "uscc": registry["uscc"], "nansha_catalog_category": category}), keep=("uscc",)),
        "uscc")
    sme = np.flatnonzero(rng.random(n) < 0.04)
    merge_department(frames, "科技", pl.DataFrame({
        "uscc": registry["uscc"].gather(sme),
        "tech_sme_registered_on": days_before(reference,
                                              rng.integers(0, 3 * 365, size=len(sme)))}),
        "uscc")


def add_talent_fields(frames: dict[str, pl.DataFrame], rng: np.random.Generator) -> None:
    labour = frames["人社"]
    if "work_district" not in labour.columns:
        return
    workers = labour.filter(pl.col("work_district").is_not_null()).select(
        "id_number", "work_district")
    m = workers.height
    work = workers["work_district"].to_numpy().astype(str)
    in_gz = np.char.startswith(work, "4401")
    in_nansha = work == NANSHA
    resident = rng.random(m) < np.where(in_nansha, 1 / 7, np.where(in_gz, 0.02, 0.0))
    place = choose(rng, ("香港居民", "澳门居民"), (0.8, 0.2), m).to_numpy().astype(str)
    ids = workers["id_number"]
    merge_department(frames, "公安", pl.DataFrame({
        "id_number": ids.filter(pl.Series(resident)), "hk_macao_resident": place[resident]}),
        "id_number")
    talent = in_gz & (rng.random(m) < np.where(resident, 0.5, 0.01))
    kind = choose(rng, ("境外高端人才", "境外紧缺人才"), (0.3, 0.7), m).to_numpy().astype(str)
    merge_department(frames, "科技", pl.DataFrame({
        "id_number": ids.filter(pl.Series(talent)), "gz_overseas_talent": kind[talent]}),
        "id_number")
    taxable = np.round(np.where(talent, rng.lognormal(np.log(600_000), 0.6, size=m),
                                np.maximum(rng.lognormal(np.log(40_000), 1.0, size=m)
                                           - 20_000, 0.0)), 2)
    merge_department(frames, "税务", with_missing(rng, pl.DataFrame({
        "id_number": ids, "iit_taxable_income": taxable, "iit_paid_local": annual_iit(taxable)}),
        keep=("id_number",)), "id_number")
