"""Pre-filled applications (快申快享): every field the government's data knows is filled in
with its source department and as-of date; only the unknown and the declared fields are left
for the applicant.

>>> import datetime as dt
>>> from notifier.model import EntitlementChange, FieldInfo
>>> change = EntitlementChange(entity_kind="enterprise", entity_id="E1",
...     policy_id="high-tech-enterprise", policy_version="v1", policy_title="高新技术企业认定",
...     benefit_period="2025", change="new", outcome="undetermined",
...     amount_fen=None, amount_period=None, delivery="apply", unknown_fields=("has_core_ip",))
>>> fields = [FieldInfo(name="employees", label="从业人数", source="税务", type="int",
...                     unit="person", unit_label="人"),
...           FieldInfo(name="has_core_ip", label="拥有核心自主知识产权", kind="declared")]
>>> app = build_application(change, {"employees": 40}, fields, as_of=dt.date(2025, 6, 30))
>>> [(f.name, f.display, f.source) for f in app.prefilled]
[('employees', '40 人', '税务')]
>>> money = FieldInfo(name="operating_revenue", label="营业收入", source="税务",
...                   type="float", unit="yuan")
>>> [f] = build_application(change, {"operating_revenue": 100.1 + 200.2}, [money],
...                         as_of=dt.date(2025, 6, 30)).prefilled
>>> f.value, f.unit, f.display  # integer fen, not the float 300.29999999999995
(30030, 'fen', '300.30 元')
>>> [(f.name, f.reason) for f in app.to_fill]
[('has_core_ip', 'declared')]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from notifier.formatting import format_value, mask_personal
from notifier.model import PAYLOAD_VERSION, EntitlementChange, FieldInfo
from store.money import yuan_to_fen

DERIVED_SOURCE = "系统计算"
FillReason = Literal["unknown", "declared"]


@dataclass(frozen=True, kw_only=True)
class PrefilledField:
    name: str
    label: str
    value: object  # JSON-ready; personal values masked; money in integer fen
    display: str
    source: str
    as_of: dt.date
    unit: str | None = None  # the unit of ``value``: ``fen`` for money, else the catalog's


@dataclass(frozen=True, kw_only=True)
class FieldToFill:
    """A field the applicant fills: what it is and what a valid answer looks like (the
    catalog's type, unit, range and allowed values)."""

    name: str
    label: str
    type: str
    unit: str | None
    reason: FillReason
    unit_label: str | None = None
    min: float | None = None
    max: float | None = None
    values: tuple[str, ...] | None = None
    source: str | None = None


@dataclass(frozen=True, kw_only=True)
class Application:
    """A pre-filled application for one entitlement."""

    entity_kind: str
    policy_id: str
    policy_version: str
    policy_title: str
    benefit_period: str
    as_of: dt.date
    prefilled: tuple[PrefilledField, ...]
    to_fill: tuple[FieldToFill, ...]

    def to_json(self) -> dict[str, object]:
        """The application as JSON-ready data (dates as ISO strings)."""
        return {
            "version": PAYLOAD_VERSION,
            "entity_kind": self.entity_kind,
            "policy_id": self.policy_id,
            "policy_version": self.policy_version,
            "policy_title": self.policy_title,
            "benefit_period": self.benefit_period,
            "as_of": self.as_of.isoformat(),
            "prefilled": [
                {
                    "name": f.name,
                    "label": f.label,
                    "value": f.value,
                    "unit": f.unit,
                    "display": f.display,
                    "source": f.source,
                    "as_of": f.as_of.isoformat(),
                }
                for f in self.prefilled
            ],
            "to_fill": [
                {"name": f.name, "label": f.label, "type": f.type, "unit": f.unit,
                 "unit_label": f.unit_label, "reason": f.reason, "min": f.min, "max": f.max,
                 "values": list(f.values) if f.values else None, "source": f.source}
                for f in self.to_fill
            ],
        }


def _json_value(value: object, unit: str | None) -> tuple[object, str | None]:
    """A profile value as JSON, and its unit: money (``yuan``) as integer fen, exact (a
    float of yuan is not, and a consumer adding them up would show float noise)."""
    if unit == "yuan" and isinstance(value, int | float | Decimal) and not isinstance(
            value, bool):
        return yuan_to_fen(value), "fen"
    if isinstance(value, dt.date):
        return value.isoformat(), unit
    if value is None or isinstance(value, bool | int | float | str):
        return value, unit
    return str(value), unit


def build_application(
    change: EntitlementChange,
    profile: Mapping[str, object],
    fields: Iterable[FieldInfo],
    *,
    as_of: dt.date,
    source_as_of: Mapping[str, dt.date] | None = None,
) -> Application:
    """The pre-filled application for ``change``, from the entity's profile row.

    ``fields`` are the fields the policy reads (catalog metadata as plain data; a yearly
    field as the columns of the years it reads, each asked for on its own). A field is
    pre-filled when the profile knows it: a value, or an empty list-type field ("not on the
    list"). It is left for the applicant when it is declared, missing, or listed in the
    change's ``unknown_fields``. ``source_as_of`` gives each department's extract date
    (default ``as_of``). Personal values (ID numbers, phones, names) are masked.
    """
    dates = source_as_of or {}
    unknown = set(change.unknown_fields)
    prefilled: list[PrefilledField] = []
    to_fill: list[FieldToFill] = []
    seen: set[str] = set()
    for f in fields:
        if f.name in seen:
            continue
        seen.add(f.name)
        value = profile.get(f.name)
        known = f.kind != "declared" and f.name not in unknown and (
            value is not None or f.empty == "not_listed"
        )
        if not known:
            reason: FillReason = "declared" if f.kind == "declared" else "unknown"
            to_fill.append(
                FieldToFill(name=f.name, label=f.label, type=f.type, unit=f.unit, reason=reason,
                            unit_label=f.unit_label, min=f.min, max=f.max, values=f.values,
                            source=f.source)
            )
            continue
        shown = mask_personal(f.name, value) if f.personal else value
        source = f.source or DERIVED_SOURCE
        json_value, unit = _json_value(shown, f.unit)
        prefilled.append(
            PrefilledField(
                name=f.name,
                label=f.label,
                value=json_value,
                unit=unit,
                display=format_value(shown, type_=f.type, unit=f.unit, empty=f.empty,
                                     unit_label=f.unit_label),
                source=source,
                as_of=dates.get(source, as_of),
            )
        )
    # a yearly field reported unknown is asked for by its years, as read above
    seen |= {f.series for f in fields if f.series}
    for name in change.unknown_fields:  # unknown to the catalog slice we were given
        if name not in seen:
            seen.add(name)
            to_fill.append(FieldToFill(name=name, label=name, type="str", unit=None,
                                       reason="unknown"))
    return Application(
        entity_kind=change.entity_kind,
        policy_id=change.policy_id,
        policy_version=change.policy_version,
        policy_title=change.policy_title,
        benefit_period=change.benefit_period,
        as_of=as_of,
        prefilled=tuple(prefilled),
        to_fill=tuple(to_fill),
    )
