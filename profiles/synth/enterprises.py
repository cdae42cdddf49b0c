"""Synthetic enterprises: one typed frame per department extract, vectorised with numpy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources

import numpy as np
import polars as pl
from ruamel.yaml import YAML

from profiles.idcheck import USCC_ALPHABET, org_code_with_check, uscc_with_check
from profiles.synth.chains import chain_scopes, labelled_table, memberships
from profiles.synth.common import (
    CITY_SHARES,
    as_text,
    choose,
    choose_idx,
    days_before,
    digits,
    phones,
    pick,
    pick_districts,
    where_or_null,
    with_missing,
)
from profiles.synth.names import BRAND_CHARS, CITY_SHORT, SCOPE_SUFFIX

WAN = 10_000.0
LABELS = "labels"
"""Key of the labelled table (uscc, business_scope, tags) among the returned frames."""
RD_HEAVY = ("39", "65", "73", "64", "26", "36")


@dataclass(frozen=True)
class Industry:
    code: str
    name: str
    weight: float
    revenue_per_head: float
    word: str
    scope: tuple[str, ...]


@cache
def load_industries() -> tuple[Industry, ...]:
    text = resources.files("profiles").joinpath("data/industries.yaml").read_text(encoding="utf-8")
    raw = YAML(typ="safe").load(text)["industries"]
    return tuple(
        Industry(
            str(r["code"]),
            str(r["name"]),
            float(r["weight"]),
            float(r["revenue_per_head"]),
            str(r["word"]),
            tuple(str(s) for s in r["scope"]),
        )
        for r in raw
    )


def unique_usccs(rng: np.random.Generator, districts: np.ndarray, kinds: np.ndarray) -> pl.Series:
    """Valid, distinct USCCs: 9 + kind (1-3) + district + random organisation code + checks."""
    n = len(districts)
    prefix = np.concatenate(
        [np.full((n, 1), ord("9"), np.uint8), digits(kinds, 1), digits(districts, 6)], axis=1
    )
    alphabet = np.frombuffer(USCC_ALPHABET.encode(), dtype=np.uint8)
    bodies = alphabet[rng.integers(0, 31, size=(n, 8))]
    bodies[:, :2] = alphabet[rng.integers(0, 10, size=(n, 2))]  # mostly digits up front
    while True:
        first17 = np.concatenate([prefix, org_code_with_check(bodies)], axis=1)
        codes = uscc_with_check(first17).alias("uscc")
        dup = codes.is_duplicated().to_numpy()
        # keep the first of each duplicate group, redraw the others
        redraw = dup & ~codes.is_first_distinct().to_numpy()
        if not redraw.any():
            return codes
        bodies[redraw] = alphabet[rng.integers(0, 31, size=(int(redraw.sum()), 8))]


def _names(
    rng: np.random.Generator, city_prefix: np.ndarray, words: pl.Series, n: int
) -> pl.Series:
    brand = list(BRAND_CHARS)
    city = pick([CITY_SHORT[c] for c in CITY_SHARES], city_prefix)
    a = pick(brand, rng.integers(0, len(brand), size=n))
    b = pick(brand, rng.integers(0, len(brand), size=n))
    suffix = choose(rng, ("有限公司", "有限责任公司", "股份有限公司"), (0.85, 0.1, 0.05), n)
    return (
        pl.DataFrame({"c": city, "a": a, "b": b, "w": words, "s": suffix})
        .select(pl.concat_str("c", "a", "b", "w", "s"))
        .to_series()
    )


def _scopes(
    rng: np.random.Generator, industry: np.ndarray, table: tuple[Industry, ...]
) -> pl.Series:
    flat = [p for ind in table for p in ind.scope]
    counts = np.array([len(ind.scope) for ind in table])
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    n = len(industry)
    first = pick(flat, offsets[industry] + rng.integers(0, 1 << 30, size=n) % counts[industry])
    second = pick(flat, offsets[industry] + rng.integers(0, 1 << 30, size=n) % counts[industry])
    frame = pl.DataFrame({"a": first, "b": second})
    return frame.select(
        pl.when(pl.col("a") == pl.col("b"))
        .then(pl.col("a") + SCOPE_SUFFIX)
        .otherwise(pl.concat_str("a", pl.lit("；"), "b", pl.lit(SCOPE_SUFFIX)))
    ).to_series()


def enterprises(
    rng: np.random.Generator, n: int, *, reference: date, label_share: float = 0.2
) -> dict[str, pl.DataFrame]:
    """Department extracts (typed, with missing values) for ``n`` enterprises, and under
    :data:`LABELS` the labelled chain-tag sample of ``label_share`` of them."""
    table = load_industries()
    weights = np.array([i.weight for i in table])
    industry = rng.choice(len(table), size=n, p=weights / weights.sum())
    codes = pick([i.code for i in table], industry)
    district, city = pick_districts(rng, n, CITY_SHARES)
    kinds = choose_idx(rng, (0.95, 0.04, 0.01), n) + 1
    uscc = unique_usccs(rng, district, kinds)
    age_days = np.minimum(rng.exponential(7.0, size=n), 45.0) * 365.25
    employees = np.floor(rng.lognormal(1.7, 1.35, size=n)).astype(np.int64)
    per_head = np.array([i.revenue_per_head for i in table])[industry] * WAN
    revenue = np.round(np.maximum(employees, 0.5) * per_head * rng.lognormal(0.0, 0.7, size=n), 2)
    assets = np.round(revenue * rng.lognormal(np.log(0.8), 0.7, size=n), 2)
    taxable = np.round(revenue * rng.normal(0.04, 0.08, size=n), 2)
    small_scale = np.where(revenue < 5_000_000, rng.random(n) < 0.92, rng.random(n) < 0.03)
    rd_heavy = np.array([i.code[:2] in RD_HEAVY for i in table])[industry]
    does_rd = rng.random(n) < np.where(rd_heavy, 0.45, 0.08)
    rd_expense = np.where(does_rd, np.round(revenue * rng.uniform(0.02, 0.12, size=n), 2), 0.0)
    registry = pl.DataFrame(
        {
            "uscc": uscc,
            "name": _names(rng, city, pick([i.word for i in table], industry), n),
            "district": as_text(digits(district, 6)),
            "industry_code": codes,
            "founded_on": days_before(reference, age_days.astype(np.int64)),
            "status": choose(rng, ("存续", "吊销", "注销"), (0.90, 0.04, 0.06), n),
            "business_scope": _scopes(rng, industry, table),
            "serious_dishonesty": where_or_null(rng.random(n) < 0.005, True, dtype=pl.Boolean()),
            "contact_phone": phones(rng, n),
        }
    )
    # a contact e-mail for about two firms in three, derived from the code (no draw from rng:
    # the other columns stay as they were)
    tail = pl.col("uscc").str.slice(10, 8).str.to_lowercase()
    registry = registry.with_columns(
        pl.when(pl.col("uscc").str.slice(16, 1).is_in(list("0123456789ABCDEFGHJKLMN")))
        .then(pl.concat_str(pl.lit("contact-"), tail, pl.lit("@qiye.example.cn")))
        .otherwise(None)
        .alias("contact_email")
    )
    # chain tags draw from a child generator: the other columns do not change with them
    chain_rng = rng.spawn(1)[0]
    member = memberships(chain_rng, codes)
    scopes = chain_scopes(chain_rng, registry["business_scope"], member)
    registry = registry.with_columns(scopes)
    labels = labelled_table(chain_rng, uscc, scopes, member, share=label_share)
    tax = pl.DataFrame(
        {
            "uscc": uscc,
            "employees": employees,
            "operating_revenue": revenue,
            "total_assets": assets,
            "annual_taxable_income": taxable,
            "vat_taxpayer_type": pick(("一般纳税人", "小规模纳税人"), small_scale.astype(np.int64)),
            "monthly_sales": np.round(revenue / 12 * rng.lognormal(0, 0.25, size=n), 2),
            "tax_credit_rating": choose(
                rng, ("A", "B", "M", "C", "D"), (0.2, 0.55, 0.15, 0.07, 0.03), n
            ),
            "rd_expense": rd_expense,
        }
    )
    return {
        "市场监管": with_missing(rng, registry, keep=("uscc", "serious_dishonesty")),
        "税务": _with_restricted_answer(rng, with_missing(rng, tax, keep=("uscc",)), codes),
        "科技": _science(rng, uscc, does_rd, employees, revenue, reference),
        "工信": _recognitions(rng, uscc, does_rd, employees, reference),
        "人社": _social_insurance(rng, uscc, employees, age_days),
        LABELS: labels,
    }


def _with_restricted_answer(rng: np.random.Generator, tax: pl.DataFrame,
                            codes: pl.Series) -> pl.DataFrame:
    """The answer on the annual CIT return to 从事国家限制或禁止行业: yes for a rare firm
    (and for 卷烟制造, 1620, under the tobacco monopoly), no for the rest, blank for about 4 %
    (not filed yet). Drawn from a child generator: the other columns stay as they were."""
    child = rng.spawn(1)[0]
    n = tax.height
    yes = (child.random(n) < 0.003) | codes.str.starts_with("1620").to_numpy()
    blank = child.random(n) < 0.04
    answer = pl.Series("restricted_industry", yes, dtype=pl.Boolean)
    return tax.with_columns(pl.when(pl.Series(blank)).then(None).otherwise(answer)
                            .alias("restricted_industry"))


def _science(
    rng: np.random.Generator,
    uscc: pl.Series,
    does_rd: np.ndarray,
    employees: np.ndarray,
    revenue: np.ndarray,
    reference: date,
) -> pl.DataFrame:
    idx = np.flatnonzero(does_rd)
    m = len(idx)
    certified = rng.random(m) < 0.25
    cert_days = rng.integers(0, 5 * 365, size=m)
    cert = days_before(reference, cert_days)
    frame = pl.DataFrame(
        {
            "uscc": uscc.gather(idx),
            "tech_staff": np.round(employees[idx] * rng.uniform(0.05, 0.45, size=m)).astype(
                np.int64
            ),
            "high_tech_revenue": np.round(revenue[idx] * rng.uniform(0.2, 0.95, size=m), 2),
            "high_tech_cert_on": cert,
        }
    ).with_columns(
        pl.when(pl.Series(certified)).then(pl.col("high_tech_cert_on")).alias("high_tech_cert_on")
    )
    return with_missing(rng, frame, keep=("uscc", "high_tech_cert_on"))


def _recognitions(
    rng: np.random.Generator,
    uscc: pl.Series,
    does_rd: np.ndarray,
    employees: np.ndarray,
    reference: date,
) -> pl.DataFrame:
    """工信: the 优质中小企业 ladder. About one firm in two hundred is a 专精特新"小巨人"
    (national), several times as many are 专精特新中小企业 (provincial list; every 小巨人 is one
    too), and about one 小巨人 in four is also a 国家级制造业单项冠军 -- both a little above
    the national shares, so that a demo of some ten thousand firms in four cities holds newly
    recognised ones in 广州. Recognition dates spread over the seven to nine years before
    ``reference``; each list's latest batch is dated in its last four months."""
    pool = np.flatnonzero(does_rd & (employees >= 10))
    m = len(pool)
    giant = (employees[pool] >= 20) & (rng.random(m) < 0.18)
    specialized = giant | (rng.random(m) < 0.25)
    champion = giant & (rng.random(m) < 0.25)
    keep = specialized
    idx = pool[keep]
    giant, champion = giant[keep], champion[keep]
    k = len(idx)
    # years before ``reference``, the most recent first (the lists grow every year)
    giant_on = _recent_dates(rng, (0.18, 0.16, 0.15, 0.14, 0.13, 0.12, 0.12), k, reference)
    specialized_on = _recent_dates(rng, (0.2, 0.18, 0.16, 0.14, 0.12, 0.1, 0.1), k, reference)
    champion_on = _recent_dates(rng, (0.2, 0.15, 0.13, 0.11, 0.1, 0.09, 0.08, 0.07, 0.07), k,
                                reference)
    return pl.DataFrame(
        {
            "uscc": uscc.gather(idx),
            "specialized_sme_on": specialized_on,
            "little_giant_on": where_or_null(giant, giant_on.to_numpy(), dtype=pl.Date()),
            "single_champion_on": where_or_null(champion, champion_on.to_numpy(), dtype=pl.Date()),
        }
    )


def _recent_dates(
    rng: np.random.Generator, shares: tuple[float, ...], n: int, reference: date
) -> pl.Series:
    """``n`` dates before ``reference``: ``shares[k]`` of them in the k-th year back, those of
    the latest year in its last four months (a list's batch is published late in the year)."""
    years_back = choose_idx(rng, shares, n)
    within = rng.integers(0, 365, size=n)
    days = years_back * 365 + np.where(years_back == 0, within * 122 // 365, within)
    return days_before(reference, days.astype(np.int64))


def _social_insurance(
    rng: np.random.Generator, uscc: pl.Series, employees: np.ndarray, age_days: np.ndarray
) -> pl.DataFrame:
    idx = np.flatnonzero((employees > 0) & (rng.random(len(employees)) < 0.85))
    m = len(idx)
    insured = np.round(employees[idx] * rng.uniform(0.6, 1.0, size=m)).astype(np.int64)
    months_alive = (age_days[idx] // 30.4).astype(np.int64)
    paid = np.minimum(
        months_alive, np.where(rng.random(m) < 0.85, 240, rng.integers(0, 24, size=m))
    )
    frame = pl.DataFrame(
        {
            "uscc": uscc.gather(idx),
            "insured_employees": insured,
            "ui_paid_months": paid,
            "ui_paid_last_year": np.round(insured * rng.lognormal(np.log(1000), 0.3, size=m), 2),
            "layoffs_last_year": rng.poisson(insured * 0.02),
            "graduate_hires": rng.poisson(insured * 0.01),
        }
    )
    return with_missing(rng, frame, keep=("uscc",))
