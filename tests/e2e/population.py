"""The seeded population of the acceptance story: a handful of enterprises and citizens whose
department extracts are written month by month, exactly as the departments would deliver
them (one CSV per department, keyed by 统一社会信用代码 / 公民身份号码, valid check characters).

- 上海星河智能科技 (E1): a small low-profit firm with a contact phone and e-mail; its science
  bureau extract leaves 科技人员数 empty, so 高新技术企业认定 asks for it (and for the declared
  core IP) in a pre-filled application; its yearly 税务 panel gives the three-year R&D
  ratio. In the third month its taxable income rises above
  300万 and 小型微利企业所得税优惠 is revoked.
- 上海晨光餐饮 (E2): a small-scale taxpayer, reached in the inbox only.
- 张老伯 (P1): 75, Shanghai household, a phone: 上海市老年综合津贴 150 元/月, which he confirms
  once by the link in his SMS; later months carry his confirmation over.
- 李阿姨 (P2): 70, same allowance, never confirms; every month asks her again.
- 王先生 (P3): 35, no phone; 3岁以下子女数 unknown, so the infant-care deduction is undetermined.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from profiles.catalog import load_catalog
from profiles.idcheck import id_number_with_check, org_code_with_check, uscc_with_check

MONTHS = (dt.date(2025, 10, 1), dt.date(2025, 11, 1), dt.date(2025, 12, 1))


def _uscc(body: str) -> str:
    org = org_code_with_check(np.frombuffer(body.encode(), dtype=np.uint8).reshape(1, 8))
    prefix = np.frombuffer(b"91310104", dtype=np.uint8).reshape(1, 8)
    return str(uscc_with_check(np.concatenate([prefix, org], axis=1)).to_list()[0])


def _id(first17: str) -> str:
    return str(id_number_with_check(np.array([first17.encode()])).to_list()[0])


E1, E2 = _uscc("MA1K3YJ4"), _uscc("MA7Q2W8A")
P1, P2, P3 = _id("31010419500315001"), _id("31010519550101002"), _id("31010119900606003")
E1_PHONE, E1_EMAIL, P1_PHONE, P2_PHONE = ("13911110001", "ops@xinghe.example.cn",
                                          "13800138001", "13800138002")

ENTERPRISES: dict[str, dict[str, Any]] = {
    E1: {"name": "上海星河智能科技有限公司", "district": "310104", "industry_code": "6510",
         "founded_on": "2015-06-01", "status": "存续",
         "business_scope": "软件开发；信息技术咨询服务",
         "contact_phone": E1_PHONE, "contact_email": E1_EMAIL,
         "employees": 80, "operating_revenue": "20000000.00", "total_assets": "30000000.00",
         "annual_taxable_income": "2000000.00", "vat_taxpayer_type": "一般纳税人",
         "restricted_industry": "false",
         "monthly_sales": "1500000.00", "tax_credit_rating": "A", "rd_expense": "1500000.00",
         "tech_staff": None, "high_tech_revenue": "15000000.00",
         "insured_employees": 78, "ui_paid_months": 60, "ui_paid_last_year": "50000.00",
         "layoffs_last_year": 0, "graduate_hires": 0},
    E2: {"name": "上海晨光餐饮管理有限公司", "district": "310105", "industry_code": "6210",
         "founded_on": "2019-03-01", "status": "存续", "business_scope": "餐饮服务",
         "employees": 9, "operating_revenue": "900000.00", "total_assets": "500000.00",
         "annual_taxable_income": "60000.00", "vat_taxpayer_type": "小规模纳税人",
         "restricted_industry": "false",
         "monthly_sales": "80000.00", "tax_credit_rating": "B", "rd_expense": "0.00",
         "insured_employees": 9, "ui_paid_months": 30, "ui_paid_last_year": "3000.00",
         "layoffs_last_year": 0, "graduate_hires": 0},
}
PERSONS: dict[str, dict[str, Any]] = {
    P1: {"name": "张建国", "birth_date": "1950-03-15", "hukou_district": "310104", "alive": "true",
         "children_under_3": 0, "employed": "false", "phone": P1_PHONE},
    P2: {"name": "李秀英", "birth_date": "1955-01-01", "hukou_district": "310105", "alive": "true",
         "children_under_3": 0, "employed": "false", "phone": P2_PHONE},
    P3: {"name": "王志强", "birth_date": "1990-06-06", "hukou_district": "310101", "alive": "true",
         "children_under_3": None, "employed": "true"},
}


def month_changes(month: int) -> dict[str, dict[str, Any]]:
    """What the departments report differently in a month (1-based)."""
    if month >= 3:
        return {E1: {"annual_taxable_income": "4000000.00"}}  # no longer 小型微利
    return {}


def write_sources(folder: Path, *, month: int) -> Path:
    """The department extracts of one month, as CSV files in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    catalog = load_catalog()
    changes = month_changes(month)
    for entity, rows in (("enterprise", ENTERPRISES), ("person", PERSONS)):
        cat = catalog.entity(entity)
        by_source: dict[str, list[str]] = {}
        for f in cat.base_fields:
            if f.name != cat.key and f.source:
                by_source.setdefault(f.source, []).append(f.name)
        for source, names in by_source.items():
            _write(folder / f"{entity}_{source}.csv", cat.key, names,
                   {k: {**v, **changes.get(k, {})} for k, v in rows.items()})
    _write_yearly(folder / "yearly_enterprise_税务.csv", catalog.entity("enterprise").key)
    return folder


#: The 税务 yearly panel (profiles/README.md, "Yearly data"): each firm's revenue and R&D
#: expense as its returns gave them, the same every year, so 高新技术企业认定's three-year
#: R&D ratio is known (1,500,000 / 20,000,000 = 7.5 % for 星河).
YEARS = range(2020, 2025)


def _write_yearly(path: Path, key: str) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow([key, "year", "operating_revenue", "rd_expense"])
        for entity_id, values in ENTERPRISES.items():
            for year in YEARS:
                out.writerow([entity_id, year, values["operating_revenue"],
                              values["rd_expense"]])


def _write(path: Path, key: str, names: list[str],
           rows: Mapping[str, Mapping[str, Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow([key, *names])
        for entity_id, values in rows.items():
            out.writerow([entity_id, *("" if values.get(n) is None else values[n]
                                       for n in names)])
