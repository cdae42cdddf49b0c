"""The tag catalog: every field a rule may read, typed, with its Chinese label and source.

The catalog is data (``profiles/data/catalog.yaml``); this module gives it a typed face.

>>> cat = load_catalog()
>>> cat.entity("enterprise").field("从业人数").name
'employees'
>>> cat.entity("person").field("disability_grade").empty
'not_listed'
>>> cat.entity("enterprise").suggest("employes")
'employees'
>>> print(unknown_field_hint(cat.entity("enterprise"), "age"))
('age（年龄）是个人画像字段，这里只能读取企业画像字段', None)
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from typing import Literal

from ruamel.yaml import YAML

FieldType = Literal["str", "int", "float", "date", "bool"]
FieldKind = Literal["base", "derived", "declared", "yearly"]
EmptyMeaning = Literal["unknown", "not_listed"]
EntityName = Literal["enterprise", "person"]

ENTITIES: tuple[EntityName, ...] = ("enterprise", "person")
#: The column of a relation's member frame that holds the owner's key.
OWNER_COLUMN = "__owner"
FIELD_TYPES: tuple[str, ...] = ("str", "int", "float", "date", "bool")


class CatalogError(Exception):
    """Root error of the catalog: a lookup of a name that is not there, or a bad catalog file."""


class UnknownFieldError(CatalogError, KeyError):
    def __init__(self, entity: str, name: str, suggestion: str | None, *,
                 note: str | None = None) -> None:
        self.entity = entity
        self.name = name
        self.suggestion = suggestion
        hint = f"；是否应为 '{suggestion}'？" if suggestion else ""
        why = f"（{note}）" if note else ""
        super().__init__(f"{entity} 目录中没有字段 '{name}'{why}{hint}")

    def __str__(self) -> str:
        return str(self.args[0])


YEAR_SUFFIX = re.compile(r"^(?P<series>.+)_y(?P<year>\d{4})$")


def year_column(series: str, year: int) -> str:
    """The snapshot column of a yearly field's value in one accounting year.

    >>> year_column("operating_revenue", 2024), split_year_column("operating_revenue_y2024")
    ('operating_revenue_y2024', ('operating_revenue', 2024))
    """
    return f"{series}_y{year:04d}"


def split_year_column(name: str) -> tuple[str, int] | None:
    """(series, year) of a year column's name, None for any other name."""
    m = YEAR_SUFFIX.match(name)
    return (m["series"], int(m["year"])) if m else None


HELD_FIELDS = "held_fields"
"""Snapshot column: for an entity held on a data defect (its row in some source was
quarantined), the fields that source supplies. They are UNKNOWN for the run, even list-type
ones whose empty cell would otherwise mean "not listed" (DESIGN §3); null for everyone else.
The column is present only when some entity is held."""

# How a unit reads after a number, for people (pages, messages, application forms).
UNIT_LABELS: dict[str, str] = {
    "yuan": "元", "person": "人", "month": "个月", "year": "年", "ratio": "%", "grade": "级",
    "child": "个",
}


@dataclass(frozen=True, kw_only=True)
class Field:
    """One tag of the catalog."""

    name: str
    label: str
    type: FieldType
    entity: EntityName
    unit: str | None = None
    source: str | None = None
    kind: FieldKind = "base"
    empty: EmptyMeaning = "unknown"
    personal: bool = False
    values: tuple[str, ...] | None = None
    inputs: tuple[str, ...] = ()
    format: str | None = None
    min: float | None = None
    max: float | None = None
    unit_word: str | None = None  # overrides the unit's usual word (age: 岁, not 年)
    #: a derived tag carried with the mask of its still-possible ``values``
    #: (:mod:`profiles.possible`): conditions on it are decided by that set
    possible: bool = False
    #: a year column (``operating_revenue_y2024``): its yearly series and accounting year
    series: str | None = None
    year: int | None = None

    @property
    def is_numeric(self) -> bool:
        return self.type in ("int", "float")

    @property
    def unit_label(self) -> str | None:
        """The unit as a person reads it: ``person`` -> 人, ``yuan`` -> 元."""
        if self.unit_word:
            return self.unit_word
        return UNIT_LABELS.get(self.unit, self.unit) if self.unit else None

    @property
    def not_listed_when_empty(self) -> bool:
        return self.empty == "not_listed"


@dataclass(frozen=True)
class EntityCatalog:
    """The fields of one entity kind, addressable by name or Chinese label."""

    name: EntityName
    key: str
    label: str
    fields: tuple[Field, ...]
    #: fields with one value per accounting year (kind ``yearly``); a name may also be a
    #: field above (``operating_revenue``: the scalar is the extract's latest year)
    yearly: tuple[Field, ...] = ()
    _by_name: dict[str, Field] = field(init=False, repr=False, compare=False)
    _series: dict[str, Field] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, Field] = {}
        for f in self.fields:
            index[f.name] = f
            index[f.label] = f
        series: dict[str, Field] = {}
        for f in self.yearly:
            series[f.name] = f
            series[f.label] = f
            index.setdefault(f.name, f)  # a series with no scalar twin (tax_paid)
            index.setdefault(f.label, f)
        object.__setattr__(self, "_by_name", index)
        object.__setattr__(self, "_series", series)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name or (isinstance(name, str)
                                         and self._year_field(name) is not None)

    def field(self, name: str) -> Field:
        """The field called ``name`` (catalog name or Chinese label), or a year column
        (``operating_revenue_y2024``) of a yearly series.

        >>> f = load_catalog().entity("enterprise").field("rd_expense_y2024")
        >>> f.label, f.series, f.year, f.kind
        ('研发费用(2024年度)', 'rd_expense', 2024, 'base')
        """
        found = self._by_name.get(name) or self._year_field(name)
        if found is None:
            note, suggestion = unknown_field_hint(self, name)
            raise UnknownFieldError(self.name, name, suggestion, note=note)
        return found

    def series(self, name: str) -> Field | None:
        """The yearly series called ``name`` (name or Chinese label), or None."""
        return self._series.get(name)

    def _year_field(self, name: str) -> Field | None:
        split = split_year_column(name)
        if split is None or split[0] not in self._series:
            return None
        s = self._series[split[0]]
        return Field(name=name, label=f"{s.label}({split[1]}年度)", type=s.type,
                     entity=s.entity, unit=s.unit, source=s.source, min=s.min, max=s.max,
                     series=s.name, year=split[1])

    def suggest(self, name: str) -> str | None:
        """The nearest valid name or label, or None when nothing is close; never for a field
        of another entity (see :func:`unknown_field_hint`)."""
        return unknown_field_hint(self, name)[1]

    @cached_property
    def reported_names(self) -> tuple[str, ...]:
        """The names an unknown-field list may hold, in catalog order: the fields, then the
        yearly fields without a scalar twin (a year column is reported as its yearly field)."""
        names = [f.name for f in self.fields]
        return (*names, *(f.name for f in self.yearly if f.name not in names))

    def by_kind(self, kind: FieldKind) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.kind == kind)

    @property
    def base_fields(self) -> tuple[Field, ...]:
        return self.by_kind("base")

    @property
    def personal_fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.personal)


@dataclass(frozen=True, kw_only=True)
class Relation:
    """Related entities of an owner, read from a link table (``spouse``, ``household.members``,
    ``hires``). ``many`` is False for a relation of at most one member (navigation,
    ``spouse.age``). ``empty`` says what an owner without rows means: ``unknown`` (not on
    record: every aggregate over it is UNKNOWN) or ``not_listed`` (the table lists only owners
    that have members, so no rows means no members)."""

    name: str
    label: str
    owner: EntityName
    table: str
    many: bool
    empty: EmptyMeaning = "unknown"


@dataclass(frozen=True, kw_only=True)
class LinkTable:
    """A table relating entities (household register, employment links): validated and
    quarantined like a profile source, one row per link."""

    name: str
    label: str
    source: str
    fields: tuple[Field, ...]
    required: tuple[str, ...]
    unique: tuple[str, ...]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if name in (f.name, f.label):
                return f
        raise UnknownFieldError(self.name, name, None)

    @property
    def link_fields(self) -> tuple[Field, ...]:
        """Fields of a link readable inside an aggregate (all but the entity keys)."""
        return tuple(f for f in self.fields if f.name not in ("id_number", "uscc",
                                                               "household_id"))


@dataclass(frozen=True)
class Catalog:
    """Both entity catalogs, their relations and the link tables behind them."""

    version: int
    entities: dict[str, EntityCatalog]
    relations: dict[str, dict[str, Relation]] = field(default_factory=dict)
    tables: dict[str, LinkTable] = field(default_factory=dict)

    def relation(self, entity: str, name: str) -> Relation | None:
        """The relation of ``entity`` called ``name`` (name or Chinese label), or None."""
        for rel in self.relations.get(entity, {}).values():
            if name in (rel.name, rel.label):
                return rel
        return None

    def member_scope(self, relation: Relation) -> EntityCatalog:
        """What a filter inside an aggregate over ``relation`` may read: the link's own fields
        (``relation``, ``insured_months``...) and the member's person fields."""
        person = self.entity("person")
        links = self.tables[relation.table].link_fields
        return EntityCatalog(name="person", key=person.key, label=relation.label,
                             fields=(*links, *person.fields))

    def entity(self, name: str) -> EntityCatalog:
        try:
            return self.entities[name]
        except KeyError:
            raise CatalogError(
                f"unknown entity '{name}'; expected one of {', '.join(ENTITIES)}"
            ) from None


def _parse_field(entity: EntityName, raw: dict[str, object]) -> Field:
    ftype = str(raw["type"])
    if ftype not in FIELD_TYPES:
        raise CatalogError(
            f"field {raw.get('name')!r}: type must be one of {FIELD_TYPES}, got {ftype!r}"
        )
    values = raw.get("values")
    inputs = raw.get("inputs") or ()
    return Field(
        name=str(raw["name"]),
        label=str(raw["label"]),
        type=ftype,  # type: ignore[arg-type]
        entity=entity,
        unit=str(raw["unit"]) if raw.get("unit") else None,
        unit_word=str(raw["unit_word"]) if raw.get("unit_word") else None,
        source=str(raw["source"]) if raw.get("source") else None,
        kind=str(raw.get("kind", "base")),  # type: ignore[arg-type]
        empty=str(raw.get("empty", "unknown")),  # type: ignore[arg-type]
        personal=bool(raw.get("personal", False)),
        values=tuple(str(v) for v in values) if isinstance(values, list) else None,
        inputs=tuple(str(v) for v in inputs) if isinstance(inputs, list) else (),
        format=str(raw["format"]) if raw.get("format") else None,
        min=float(raw["min"]) if raw.get("min") is not None else None,  # type: ignore[arg-type]
        max=float(raw["max"]) if raw.get("max") is not None else None,  # type: ignore[arg-type]
        possible=bool(raw.get("possible", False)),
    )


def parse_catalog(data: dict[str, object]) -> Catalog:
    """Build a Catalog from its YAML mapping."""
    entities: dict[str, EntityCatalog] = {}
    relations: dict[str, dict[str, Relation]] = {}
    raw_entities = data.get("entities")
    if not isinstance(raw_entities, dict):
        raise CatalogError("catalog: expected a mapping 'entities'")
    for ename, body in raw_entities.items():
        if ename not in ENTITIES:
            raise CatalogError(f"catalog: unknown entity {ename!r}; expected one of {ENTITIES}")
        fields = tuple(_parse_field(ename, dict(f)) for f in body["fields"])
        yearly = tuple(_parse_field(ename, {**dict(f), "kind": "yearly"})
                       for f in body.get("yearly") or ())
        entities[ename] = EntityCatalog(
            name=ename, key=str(body["key"]), label=str(body["label"]), fields=fields,
            yearly=yearly,
        )
        relations[ename] = {
            str(r["name"]): Relation(name=str(r["name"]), label=str(r["label"]), owner=ename,
                                     table=str(r["table"]), many=bool(r["many"]),
                                     empty=str(r.get("empty", "unknown")))  # type: ignore[arg-type]
            for r in body.get("relations") or ()
        }
    tables: dict[str, LinkTable] = {}
    for tname, body in (data.get("tables") or {}).items():  # type: ignore[attr-defined]
        tfields = tuple(_parse_field("person", dict(f)) for f in body["fields"])
        tables[str(tname)] = LinkTable(
            name=str(tname), label=str(body["label"]), source=str(body["source"]),
            fields=tfields,
            required=tuple(str(f["name"]) for f in body["fields"] if f.get("required")),
            unique=tuple(str(u) for u in body.get("unique") or ()))
    for rels in relations.values():
        for rel in rels.values():
            if rel.table not in tables:
                raise CatalogError(f"catalog: relation {rel.name!r} reads unknown table "
                                   f"{rel.table!r}; expected one of {sorted(tables)}")
    return Catalog(version=int(data.get("version", 1)), entities=entities,  # type: ignore[call-overload]
                   relations=relations, tables=tables)


ENTITY_FIELD_WORDS: dict[str, str] = {"enterprise": "企业画像字段", "person": "个人画像字段"}
_SUGGEST_CUTOFF = 0.6  # below it a "similar" name is usually another thing (age -> name)


def unknown_field_hint(catalog: EntityCatalog, name: str) -> tuple[str | None, str | None]:
    """Why ``name`` is not a field of ``catalog``, and what was probably meant.

    A field of the other entity (``age`` in an enterprise policy) is said to be one, with no
    suggestion: the nearest enterprise name would be another thing altogether. Otherwise
    the note is None and the suggestion is a close spelling of a field of ``catalog``, or
    None when nothing is close."""
    for other in load_catalog().entities.values():
        if other.name == catalog.name or name not in other:
            continue
        f = other.field(name)
        return (f"{f.name}（{f.label}）是{ENTITY_FIELD_WORDS.get(other.name, other.name)}，"
                f"这里只能读取{ENTITY_FIELD_WORDS.get(catalog.name, catalog.name)}"), None
    found = difflib.get_close_matches(name, list(catalog._by_name), n=1,
                                      cutoff=_SUGGEST_CUTOFF)
    return None, (found[0] if found else None)


@cache
def load_catalog() -> Catalog:
    """The bundled catalog (read once, then cached)."""
    text = resources.files("profiles").joinpath("data/catalog.yaml").read_text(encoding="utf-8")
    return parse_catalog(YAML(typ="safe").load(text))
