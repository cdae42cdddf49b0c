"""Declared conditions: facts only the applicant can attest (拥有核心自主知识产权,
近一年无重大安全事故, 需要长期照护), declared in the policy that needs them rather than in
the catalog.

A policy lists them under ``declared:``, each with a name, a Chinese label, a type and the
clause it encodes::

    declared:
      - {name: has_core_ip, label: 拥有核心自主知识产权, type: bool, clause: 第十一条(二)}

Conditions use the name (or the label) like a field. No source ever holds it: it is UNKNOWN
until the applicant declares it in the pre-filled application (快申快享), which asks exactly
the declared conditions plus what the data could not prove; the answer then decides (the
profile is completed by it, :func:`api.services.population.fill_declared`).

To every engine a declared condition is a catalog field of kind ``declared``:
:func:`with_declared` extends an entity's catalog with the declared conditions of the
policies at hand, so the checker, the plan (null column until answered), the unknown-field
lists and the application form all find its label and type in one place.

>>> from profiles.catalog import load_catalog
>>> d = DeclaredCondition(name="no_major_accident", label="近一年无重大安全事故", type="bool")
>>> cat = with_declared(load_catalog().entity("enterprise"), [d])
>>> cat.field("近一年无重大安全事故").kind, cat.field("no_major_accident").type
('declared', 'bool')
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from profiles.catalog import EntityCatalog, Field

if TYPE_CHECKING:
    from rules.model import Policy
    from rules.schema import Reader

#: Types an applicant can declare in a form (a date is asked as a field of the catalog).
DECLARED_TYPES = ("bool", "int", "float", "str")
DECLARED_KEYS = ("name", "label", "type", "clause", "unit")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True, kw_only=True)
class DeclaredCondition:
    """One fact the applicant declares: its name in conditions, Chinese label, type, unit
    (for numbers) and the clause text it encodes."""

    name: str
    label: str
    type: str = "bool"
    clause: str | None = None
    unit: str | None = None

    def as_field(self, entity: str) -> Field:
        return Field(name=self.name, label=self.label, type=self.type,  # type: ignore[arg-type]
                     entity=entity, unit=self.unit, kind="declared")  # type: ignore[arg-type]


def declared_of(policies: Iterable[Policy | Any]) -> tuple[DeclaredCondition, ...]:
    """The declared conditions of ``policies``, each name once (first definition)."""
    seen: dict[str, DeclaredCondition] = {}
    for p in policies:
        for d in getattr(p, "declared", ()):
            seen.setdefault(d.name, d)
    return tuple(seen.values())


def with_declared(catalog: EntityCatalog,
                  declared: Iterable[DeclaredCondition]) -> EntityCatalog:
    """``catalog`` with the declared conditions added as fields of kind ``declared`` (a name
    the catalog already has is kept as the catalog defines it)."""
    extra = [d.as_field(catalog.name) for d in declared
             if d.name not in catalog and d.label not in catalog]
    if not extra:
        return catalog
    return dataclasses.replace(catalog, fields=catalog.fields + tuple(extra))


def for_policies(catalog: EntityCatalog, policies: Iterable[Policy | Any]) -> EntityCatalog:
    """``catalog`` extended by the declared conditions of those ``policies`` that apply to
    its entity."""
    return with_declared(catalog, declared_of(
        p for p in policies if getattr(p, "entity", catalog.name) == catalog.name))


def read_declared(r: Reader, data: CommentedMap,
                  catalog: EntityCatalog | None) -> tuple[DeclaredCondition, ...]:
    """``declared:`` of a policy document; every problem located where it is written."""
    raw = data["declared"]
    if not isinstance(raw, CommentedSeq):
        r.error(r.value_pos(data, "declared"), "schema", "期望 'declared' 为申报条件的列表"
                "({name, label, type, clause})，实际不是列表")
        return ()
    out: list[DeclaredCondition] = []
    for i, body in enumerate(raw):
        pos = r.value_pos(raw, i)
        if not isinstance(body, CommentedMap):
            r.error(pos, "schema", "期望申报条件为 {name, label, type, clause}，实际不是映射")
            continue
        r.only_keys(body, DECLARED_KEYS, where="申报条件")
        name, label = r.text(body, "name"), r.text(body, "label")
        kind = str(body.get("type", "bool"))
        if name is None or label is None:
            continue
        if not _NAME.match(name):
            r.error(r.value_pos(body, "name"), "schema", "期望申报条件的 name 为小写英文、"
                    f"数字和下划线(如 no_major_accident)，实际为 '{name}'")
            continue
        if kind not in DECLARED_TYPES:
            r.error(r.value_pos(body, "type"), "schema", f"期望申报条件的 type 为 "
                    f"{'、'.join(DECLARED_TYPES)} 之一，实际为 '{kind}'")
            continue
        if catalog is not None and (name in catalog or label in catalog):
            r.error(pos, "declared-clash", f"期望申报条件的名称不与 {catalog.name} 目录中的"
                    f"字段重名，实际为 '{name if name in catalog else label}'(已有数据来源，"
                    "不需申请人申报)")
            continue
        if any(d.name == name or d.label == label for d in out):
            r.error(pos, "duplicate-id", f"期望申报条件不重复，实际为 '{name}' 出现两次")
            continue
        out.append(DeclaredCondition(name=name, label=label, type=kind,
                                     clause=r.text(body, "clause", required=False),
                                     unit=r.text(body, "unit", required=False)))
    return tuple(out)
