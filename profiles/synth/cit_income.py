"""Synthetic values of the CIT return's 所得减免, 减计收入 and 税额抵免 lines read by the
policies of the 企业所得税法实施条例 (第八十六条 农、林、牧、渔业项目, 第九十条 技术转让,
第九十九条 资源综合利用, 第一百条 专用设备), drawn from their own generator so that the other
columns do not change.

Frequencies are rough orders of magnitude: most farming and livestock firms report exempt
project income (a fifth to a half of revenue), one in ten of the crop farms also some flower or
tea growing taxed at half; one in twenty firms doing R&D a technology transfer income (median
200万元, a tail above the 500万元 line); one manufacturer or utility in twelve buying listed
environmental, energy- or water-saving or safety equipment in a year, and three in a hundred
selling products made mainly from listed recycled resources; some railway and water-supply
firms operating listed infrastructure (first income over the last eight years), three in ten
water firms running a public sewage project and two manufacturers or utilities in a hundred
an energy-saving retrofit, one investment firm in ten a venture stake held two years this
year. Firms outside those groups report 0 on the line.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from profiles.synth.common import days_before, merge_department, with_missing

FARMING = ("01", "02", "03", "04", "05")
"""GB/T 4754-2017 门类 A (农、林、牧、渔业): divisions 01-05."""
INDUSTRY = tuple(str(d) for d in range(13, 47))
"""门类 C (制造业) and D (电力、热力、燃气及水生产和供应业): divisions 13-46."""


def add_cit_income_fields(frames: dict[str, pl.DataFrame], rng: np.random.Generator, *,
                          reference: date) -> None:
    tax = frames["税务"]
    n = tax.height
    firms = tax.select("uscc", "operating_revenue").join(
        frames["市场监管"].select("uscc", "industry_code"), on="uscc", how="left",
        maintain_order="left").join(
        frames["科技"].select("uscc").with_columns(pl.lit(True).alias("does_rd")), on="uscc",
        how="left", maintain_order="left")
    division = firms["industry_code"].fill_null("").str.slice(0, 2)
    revenue = firms["operating_revenue"].fill_null(0.0).to_numpy()
    farming = division.is_in(list(FARMING)).to_numpy()
    crops = (division == "01").to_numpy()
    exempt = np.where(farming & (rng.random(n) < 0.7),
                      np.round(revenue * rng.uniform(0.2, 0.5, size=n), 2), 0.0)
    half = np.where(crops & (rng.random(n) < 0.1),
                    np.round(revenue * rng.uniform(0.02, 0.1, size=n), 2), 0.0)
    research = firms["does_rd"].fill_null(False).to_numpy()
    transfer = np.where(research & (rng.random(n) < 0.05),
                        np.round(rng.lognormal(np.log(2e6), 1.0, size=n), 2), 0.0)
    industry = division.is_in(list(INDUSTRY)).to_numpy()
    equipment = np.where(industry & (rng.random(n) < 1 / 12),
                         np.round(rng.lognormal(np.log(5e5), 0.8, size=n), 2), 0.0)
    recycled = np.where(industry & (rng.random(n) < 0.03),
                        np.round(revenue * rng.uniform(0.2, 0.8, size=n), 2), 0.0)
    code = firms["industry_code"].fill_null("").to_numpy().astype(str)
    railway, water = code == "5311", code == "4610"
    infra = (railway & (rng.random(n) < 0.6)) | (water & (rng.random(n) < 0.3))
    infra_income = np.where(infra, np.round(revenue * rng.uniform(0.1, 0.4, size=n), 2), 0.0)
    infra_since = days_before(reference, rng.integers(0, 8 * 365, size=n))
    env = (water & (rng.random(n) < 0.3)) | (industry & (rng.random(n) < 0.02))
    env_income = np.where(env, np.round(revenue * rng.uniform(0.1, 0.3, size=n), 2), 0.0)
    env_since = days_before(reference, rng.integers(0, 8 * 365, size=n))
    venture = (code == "7212") & (rng.random(n) < 0.1)
    held = np.where(venture, np.round(rng.lognormal(np.log(1e7), 0.8, size=n), 2), 0.0)
    merge_department(frames, "税务", with_missing(rng, pl.DataFrame({
        "uscc": tax["uscc"],
        "agriculture_exempt_income": exempt,
        "agriculture_half_income": half,
        "technology_transfer_income": transfer,
        "special_equipment_invested": equipment,
        "resource_utilization_revenue": recycled,
        "infrastructure_project_income": infra_income,
        "env_project_income": env_income,
        "vc_investment_held_2y": held,
    }), keep=("uscc",)), "uscc")
    # the approved projects' first operating income (list-type: only the firms with a project)
    uscc = tax["uscc"]
    merge_department(frames, "发改", pl.concat([
        pl.DataFrame({"uscc": uscc.filter(pl.Series(infra)),
                      "infrastructure_first_income_on": infra_since.filter(pl.Series(infra))}),
        pl.DataFrame({"uscc": uscc.filter(pl.Series(env)),
                      "env_project_first_income_on": env_since.filter(pl.Series(env))}),
    ], how="diagonal").group_by("uscc", maintain_order=True).agg(pl.all().drop_nulls().first()),
        "uscc")
