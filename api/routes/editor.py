"""The guided editor: both views of a policy text kept in sync (text -> form, form -> text),
each checked like the bundled library; the vocabulary of its pickers; and draft conditions
proposed from a pasted clause."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import DataDep, SessionDep, Simulator
from api.models.editor import (
    EditorState,
    FieldPublic,
    FormIn,
    NamedSetPublic,
    ProposalPublic,
    ProposalsIn,
    RowForm,
    TextIn,
    VocabularyPublic,
)
from api.services.labels import DELIVERY_LABELS, PERIOD_LABELS
from api.services.policy_form import editor_state, picker_names, text_of_form
from profiles.catalog import load_catalog
from profiles.regions import load_regions
from rules.words import operator_word, operators_for, unit_word

router = APIRouter(prefix="/api/editor", tags=["editor"])
FIELD_TYPES = ("int", "float", "date", "str", "bool")


@router.post("/from-text", response_model=EditorState)
def from_text(body: TextIn, session: SessionDep, data: DataDep,
              _user: Simulator) -> EditorState:
    """文本视图改动后：读出向导表单，并检查（问题带行号、列号和对应的条件行）。"""
    return editor_state(body.yaml, base=data.published_library(session))


@router.post("/from-form", response_model=EditorState)
def from_form(body: FormIn, session: SessionDep, data: DataDep,
              _user: Simulator) -> EditorState:
    """向导表单改动后：写回文本（未改动的部分保留原样），并检查。"""
    library = data.published_library(session)
    text = text_of_form(body.form, base=body.base, names=picker_names(library.sets))
    return editor_state(text, base=library)


@router.get("/vocabulary", response_model=VocabularyPublic)
def vocabulary(session: SessionDep, data: DataDep, _user: Simulator,
               entity: Annotated[str, Query(pattern="^(enterprise|person)$")] = "enterprise",
               ) -> VocabularyPublic:
    """向导的选项：字段(中文名、类型、单位、来源)、运算词、命名集合、地区、兑现方式、周期。"""
    ecat = load_catalog().entity(entity)
    sets = data.published_library(session).sets
    fields = [
        FieldPublic(name=f.name, label=f.label, type=f.type, unit=f.unit,
                    unit_word=unit_word(f.unit), source=f.source, kind=f.kind,
                    values=list(f.values) if f.values else None, format=f.format,
                    empty=f.empty)
        for f in ecat.fields if not f.personal and f.name not in (ecat.key, "name")
    ]
    operators = {t: [{"op": op, "word": operator_word(op, field_type=t)}
                     for op in operators_for(t)] for t in FIELD_TYPES}
    return VocabularyPublic(
        entity=entity, fields=fields, operators=operators,
        sets=[NamedSetPublic(name=n, label=s.label, kind=s.kind) for n, s in sets.items()],
        regions=sorted(load_regions().names), deliveries=dict(DELIVERY_LABELS),
        periods=dict(PERIOD_LABELS))


@router.post("/proposals", response_model=list[ProposalPublic])
def proposals(body: ProposalsIn, session: SessionDep, data: DataDep,
              _user: Simulator) -> list[ProposalPublic]:
    """由粘贴的条款原文提出条件草案（离线规则：目录中文名称与单位），供逐条采纳或修改。"""
    from api.services.form_rows import decompose, default_label
    from rules.proposals import propose

    library = data.published_library(session)
    ecat = load_catalog().entity(body.entity)
    titles = {p.id: p.title for p in library.policies.values()}
    out = []
    for p in propose(body.text, entity=body.entity, sets=library.sets, policies=titles):
        parts = decompose(p.when, ecat)
        row = RowForm(label=p.label, when=p.when)
        if parts is not None:
            row.field, row.op, row.value = parts
            row.structured = True
            row.default_label = default_label(ecat, *parts)
        ftype = ecat.field(p.field).type if p.field else ""
        word = operator_word(p.op, field_type=ftype) if p.op in operators_for(ftype) else (
            "符合" if p.op == "eligible" else p.op)
        out.append(ProposalPublic(field=p.field, field_label=p.field_label, op=p.op,
                                  op_word=word, value=p.value, when=p.when, label=p.label,
                                  row=row))
    return out
