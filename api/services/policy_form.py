"""The guided editor's two views of one policy document, kept in sync both ways.

:func:`form_of_text` reads a YAML text into a :class:`~api.models.editor.PolicyForm` (each
condition a row of ``field op value`` where it is that simple); :func:`text_of_form` writes a
form back into the text it came from, changing only what the form changed, so comments and
layout elsewhere stay as the officer wrote them. Both views are checked by the same loader as
the bundled library (:func:`api.services.drafts.parse_policy_text`).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any, Literal

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from api.models.editor import (
    AmountForm,
    BasisForm,
    BudgetForm,
    CaseForm,
    DatedValueForm,
    DeclaredForm,
    EditorProblem,
    EditorState,
    EffectiveForm,
    ExclusivityForm,
    GroupForm,
    ParameterForm,
    PolicyForm,
    RowForm,
    TierRowForm,
)
from api.services.drafts import parse_policy_text, policy_summary
from api.services.errors import InvalidPolicy
from api.services.form_rows import compose, decompose, default_label
from profiles.catalog import ENTITIES, EntityCatalog, UnknownFieldError, load_catalog
from profiles.regions import load_regions
from rules.loader import TOP_KEYS, Library
from rules.sets import NamedSets

FORM_KEYS = ("id", "title", "entity", "basis", "effective", "delivery", "parameters",
             "declared", "eligibility", "amount", "exclusivity", "budget", "description")
_INT = re.compile(r"-?\d+")
_FLOAT = re.compile(r"-?\d+\.\d+")


class Flow(dict[str, Any]):
    """A mapping written in flow style: ``{when: …, label: …}``."""


class FlowList(list[Any]):
    """A list written in flow style: ``[65, 75]``."""


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _line(node: Any) -> int | None:
    lc = getattr(node, "lc", None)
    return lc.line + 1 if lc is not None and lc.line is not None else None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):  # a dated list parameter: [2024, 2025]
        return "[" + ", ".join(_text(v) or "" for v in value) + "]"
    return str(value)


# ---- text -> form -------------------------------------------------------------------------


def _row(raw: CommentedMap, ecat: EntityCatalog | None) -> RowForm:
    when = _text(raw.get("when")) or ""
    row = RowForm(id=_text(raw.get("id")), label=_text(raw.get("label")) or "",
                  clause=_text(raw.get("clause")), document=_text(raw.get("document")),
                  when=when, line=_line(raw))
    parts = decompose(when, ecat) if ecat is not None else None
    if parts is not None and ecat is not None:
        row.field, row.op, row.value = parts
        row.structured = True
        row.default_label = default_label(ecat, *parts)
    return row


def _tree(raw: Any, ecat: EntityCatalog | None) -> RowForm | GroupForm:
    if not isinstance(raw, CommentedMap):
        return RowForm(when=_text(raw) or "", line=_line(raw))
    if "when" in raw:
        return _row(raw, ecat)
    kind: Literal["all", "any", "not"] = next(
        (k for k in ("all", "any", "not") if k in raw), "all")
    body = raw.get(kind)
    items = [body] if kind == "not" else list(body or [])
    return GroupForm(kind=kind, label=_text(raw.get("label")), clause=_text(raw.get("clause")),
                     items=[_tree(i, ecat) for i in items], line=_line(raw))


def _amount(raw: Any) -> AmountForm | None:
    if not isinstance(raw, CommentedMap):
        return None
    out = AmountForm(period=_text(raw.get("period")) or "once", label=_text(raw.get("label")),
                     money_kind=_text(raw.get("kind")) or "cash")
    if "tiers" in raw and isinstance(raw["tiers"], CommentedMap):
        out.kind = "tiers"
        out.by = _text(raw["tiers"].get("by")) or ""
        table = raw["tiers"].get("table") or []
        out.tiers = [TierRowForm.model_validate({"from": _text(r[0]) or "",
                                                  "value": _text(r[1]) or ""})
                     for r in table if isinstance(r, list) and len(r) == 2]
    elif "cases" in raw:
        out.kind = "cases"
        for case in raw.get("cases") or []:
            if isinstance(case, CommentedMap) and "else" in case:
                out.cases.append(CaseForm(when=None, value=_text(case["else"]) or ""))
            elif isinstance(case, CommentedMap):
                out.cases.append(CaseForm(when=_text(case.get("when")) or "",
                                          value=_text(case.get("value")) or ""))
    else:
        out.formula = _text(raw.get("formula")) or ""
    return out


def _parameters(raw: Any) -> list[ParameterForm]:
    if not isinstance(raw, CommentedMap):
        return []
    out = []
    for name, body in raw.items():
        values = [DatedValueForm(since=_text(k) or "", value=_text(v) or "")
                  for k, v in body.items()] if isinstance(body, CommentedMap) else [
            DatedValueForm(since="", value=_text(body) or "")]
        out.append(ParameterForm(name=str(name), values=values))
    return out


def _declared(raw: Any) -> list[DeclaredForm]:
    if not isinstance(raw, CommentedSeq):
        return []
    return [DeclaredForm(name=_text(d.get("name")) or "", label=_text(d.get("label")) or "",
                         type=_text(d.get("type")) or "bool", clause=_text(d.get("clause")),
                         unit=_text(d.get("unit")))
            for d in raw if isinstance(d, CommentedMap)]


def _declared_data(form: DeclaredForm) -> Flow:
    out = Flow(name=form.name, label=form.label, type=form.type)
    for key in ("clause", "unit"):
        if getattr(form, key):
            out[key] = getattr(form, key)
    return out


def _catalog_of(entity: str) -> EntityCatalog | None:
    return load_catalog().entity(entity) if entity in ENTITIES else None


def _basis_form(raw: CommentedMap) -> BasisForm:
    return BasisForm(document=_text(raw.get("document")) or "", title=_text(raw.get("title")),
                     clause=_text(raw.get("clause")), url=_text(raw.get("url")),
                     text=_text(raw.get("text")))


def _basis_data(form: BasisForm) -> dict[str, Any]:
    out: dict[str, Any] = {"document": form.document} if form.document else {}
    for key in ("title", "clause", "url", "text"):
        if getattr(form, key):
            out[key] = getattr(form, key)
    return out


def form_of_data(data: CommentedMap) -> PolicyForm:
    entity = _text(data.get("entity")) or "enterprise"
    ecat = _catalog_of(entity)
    basis = data.get("basis")
    further: list[BasisForm] = []
    if isinstance(basis, CommentedSeq) and basis:
        further = [_basis_form(b) for b in list(basis)[1:] if isinstance(b, CommentedMap)]
        basis = basis[0]
    eff = data.get("effective")
    eligibility = _tree(data.get("eligibility"), ecat) if "eligibility" in data else GroupForm()
    if isinstance(eligibility, RowForm):
        eligibility = GroupForm(kind="all", items=[eligibility], line=eligibility.line)
    excl, budget = data.get("exclusivity"), data.get("budget")
    return PolicyForm(
        id=_text(data.get("id")) or "", title=_text(data.get("title")) or "", entity=entity,
        description=_text(data.get("description")),
        basis=_basis_form(basis) if isinstance(basis, CommentedMap)
        else BasisForm(document=_text(basis) or ""),
        further_basis=further,
        effective=EffectiveForm.model_validate({"from": _text(eff.get("from")) or "",
                                                "to": _text(eff.get("to"))})
        if isinstance(eff, CommentedMap) else EffectiveForm(),
        delivery=_text(data.get("delivery")) or "direct",
        parameters=_parameters(data.get("parameters")),
        declared=_declared(data.get("declared")),
        eligibility=eligibility,
        amount=_amount(data.get("amount")),
        exclusivity=ExclusivityForm(group=_text(excl.get("group")) or "",
                                    priority=int(excl.get("priority") or 0))
        if isinstance(excl, CommentedMap) else None,
        budget=BudgetForm(total=_text(budget.get("total")) or "",
                          allocation=str(budget.get("allocation") or "ordered"),  # type: ignore[arg-type]
                          order=[str(o) for o in budget.get("order") or []])
        if isinstance(budget, CommentedMap) else None,
        other_keys=[str(k) for k in data if str(k) not in FORM_KEYS],
    )


def load_text(text: str) -> CommentedMap:
    """The YAML mapping of a policy text; :class:`ValueError` with a Chinese reason."""
    try:
        data = _yaml().load(text)
    except YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"第 {mark.line + 1} 行第 {mark.column + 1} 列" if mark else "文本中"
        raise ValueError(f"{where}不是有效的 YAML，请在文本视图中修正后再使用向导") from None
    if not isinstance(data, CommentedMap):
        raise ValueError("文本应为一个政策文档（键值映射），请在文本视图中修正")
    return data


def form_of_text(text: str) -> PolicyForm:
    return form_of_data(load_text(text))


# ---- form -> text -------------------------------------------------------------------------


def _scalar(value: str) -> Any:
    """An expression or amount as YAML: a plain number stays a number."""
    text = value.strip()
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    return text


def _parameter_value(value: str) -> Any:
    """A parameter's value as YAML: a list written ``[2024, 2025]`` (or a tier table
    ``[[65, 75], [70, 150]]``) stays a list."""
    text = value.strip()
    if not (text.startswith("[") and text.endswith("]")):
        return _scalar(text)
    try:
        items = YAML(typ="safe", pure=True).load(text)
    except YAMLError:
        return _scalar(text)

    def flow(v: Any) -> Any:
        return FlowList(flow(i) for i in v) if isinstance(v, list) else v

    return flow(items) if isinstance(items, list) else _scalar(text)


def _date(value: str) -> Any:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        return value.strip()


def _row_data(row: RowForm, ecat: EntityCatalog | None, names: frozenset[str]) -> Flow:
    when = row.when
    label = row.label.strip()
    if row.structured and ecat is not None and row.field and row.op:
        try:
            if decompose(row.when, ecat) != (row.field, row.op, row.value):
                when = compose(ecat, row.field, row.op, row.value, names=names)
            label = label or default_label(ecat, row.field, row.op, row.value)
        except UnknownFieldError:
            pass
    out = Flow(when=_scalar(when), label=label)
    if row.document:
        out["document"] = row.document
    if row.clause:
        out["clause"] = row.clause
    if row.id:
        out["id"] = row.id
    return out


def _group_data(group: GroupForm, ecat: EntityCatalog | None, names: frozenset[str]
                ) -> dict[str, Any]:
    items = [_row_data(i, ecat, names) if isinstance(i, RowForm) else _group_data(i, ecat, names)
             for i in group.items]
    out: dict[str, Any] = {group.kind: items[0] if group.kind == "not" and items else items}
    if group.label:
        out["label"] = group.label
    if group.clause:
        out["clause"] = group.clause
    return out


def _amount_data(a: AmountForm) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if a.kind == "tiers":
        out["tiers"] = {"by": _scalar(a.by), "table": [FlowList([_scalar(r.from_),
                                                                  _scalar(r.value)])
                                                        for r in a.tiers]}
    elif a.kind == "cases":
        out["cases"] = [Flow({"else": _scalar(c.value)}) if c.when is None
                        else Flow(when=_scalar(c.when), value=_scalar(c.value)) for c in a.cases]
    else:
        out["formula"] = _scalar(a.formula)
    out["period"] = a.period
    if a.money_kind != "cash":
        out["kind"] = a.money_kind
    if a.label:
        out["label"] = a.label
    return out


def data_of_form(form: PolicyForm, names: frozenset[str]) -> dict[str, Any]:
    ecat = _catalog_of(form.entity)
    basis: Any = _basis_data(form.basis)
    if form.further_basis:
        basis = [basis, *(_basis_data(b) for b in form.further_basis)]
    effective = Flow({"from": _date(form.effective.from_)})
    if form.effective.to:
        effective["to"] = _date(form.effective.to)
    data: dict[str, Any] = {"id": form.id, "title": form.title, "entity": form.entity,
                            "basis": basis, "effective": effective, "delivery": form.delivery}
    if form.parameters:
        data["parameters"] = {
            p.name: Flow({_date(v.since): _parameter_value(v.value) for v in p.values})
            for p in form.parameters if p.name}
    if form.declared:
        data["declared"] = [_declared_data(d) for d in form.declared if d.name or d.label]
    data["eligibility"] = _group_data(form.eligibility, ecat, names)
    if form.amount is not None:
        data["amount"] = _amount_data(form.amount)
    if form.exclusivity is not None:
        data["exclusivity"] = Flow(group=form.exclusivity.group,
                                   priority=form.exclusivity.priority)
    if form.budget is not None:
        budget: dict[str, Any] = {"total": _scalar(form.budget.total),
                                  "allocation": form.budget.allocation}
        if form.budget.order:
            budget["order"] = FlowList(form.budget.order)
        data["budget"] = budget
    if form.description:
        data["description"] = form.description
    return data


def _node(value: Any) -> Any:
    if isinstance(value, dict):
        node = CommentedMap((k, _node(v)) for k, v in value.items())
        if isinstance(value, Flow):
            node.fa.set_flow_style()
        return node
    if isinstance(value, list):
        seq = CommentedSeq(_node(v) for v in value)
        if isinstance(value, FlowList):
            seq.fa.set_flow_style()
        return seq
    return value


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, bool) or isinstance(new, bool):
        return isinstance(old, bool) and isinstance(new, bool) and old == new
    if isinstance(old, int | float) and isinstance(new, int | float):
        return float(old) == float(new)
    if isinstance(old, dt.date) and isinstance(new, dt.date):
        return old == new
    if isinstance(old, str) and isinstance(new, str):
        return str(old) == new
    return False


def _merge(old: Any, new: Any) -> Any:
    """``new`` written into the YAML node ``old``: unchanged parts keep their node (and so
    their comments, quoting and layout)."""
    if isinstance(new, dict) and isinstance(old, CommentedMap):
        for key in [k for k in old if k not in new]:
            del old[key]
        for i, (key, value) in enumerate(new.items()):
            if key in old:
                old[key] = _merge(old[key], value)
            else:
                old.insert(min(i, len(old)), key, _node(value))
        return old
    if isinstance(new, list) and isinstance(old, CommentedSeq):
        for i, value in enumerate(new):
            if i < len(old):
                old[i] = _merge(old[i], value)
            else:
                old.append(_node(value))
        while len(old) > len(new):
            del old[-1]
        return old
    return old if _same(old, new) else _node(new)


def text_of_form(form: PolicyForm, *, base: str = "", names: frozenset[str] = frozenset()
                 ) -> str:
    """The YAML text of ``form``, written into ``base`` (the text it was read from) so that
    what the form did not change keeps its comments and layout."""
    data = data_of_form(form, names)
    try:
        tree = load_text(base) if base.strip() else CommentedMap()
    except ValueError:
        tree = CommentedMap()
    for key in [k for k in tree if str(k) in TOP_KEYS and str(k) not in FORM_KEYS]:
        data[str(key)] = tree[key]  # keys the form does not edit (trigger) stay as written
    ordered = {k: data[k] for k in TOP_KEYS if k in data}
    merged = _merge(tree, ordered)
    out = io.StringIO()
    _yaml().dump(merged, out)
    return out.getvalue()


# ---- state ----------------------------------------------------------------------------------


def picker_names(sets: NamedSets) -> frozenset[str]:
    """Names written bare after ``in``: named sets and region names."""
    return frozenset(sets) | frozenset(load_regions().names)


def _targets(data: CommentedMap | None, form: PolicyForm | None, line: int) -> str | None:
    if data is None or form is None:
        return None
    keys = [(data.lc.key(k)[0] + 1, str(k)) for k in data]
    owner = None
    for start, key in keys:
        if start <= line:
            owner = key
    if owner != "eligibility":
        return f"key:{owner}" if owner else None
    best: tuple[int, str] | None = None

    def walk(node: RowForm | GroupForm, path: str) -> None:
        nonlocal best
        if node.line is not None and node.line <= line and (best is None or node.line >= best[0]):
            best = (node.line, path)
        if isinstance(node, GroupForm):
            for i, child in enumerate(node.items):
                walk(child, f"{path}.{i}" if path else str(i))

    walk(form.eligibility, "")
    return f"row:{best[1]}" if best is not None else "key:eligibility"


def editor_state(text: str, *, base: Library | None) -> EditorState:
    """Both views of ``text`` and its check (problems carry the form row they concern)."""
    form: PolicyForm | None = None
    data: CommentedMap | None = None
    form_error = None
    try:
        data = load_text(text)
        form = form_of_data(data)
    except ValueError as err:
        form_error = str(err)
    try:
        policy = parse_policy_text(text, base=base)
    except InvalidPolicy as err:
        problems = [EditorProblem(**p, target=_targets(data, form, int(p["line"])))
                    for p in err.problems]
        return EditorState(text=text, form=form, form_error=form_error, valid=False,
                           problems=problems)
    return EditorState(text=text, form=form, form_error=form_error, valid=True, problems=[],
                       policy=policy_summary(policy))
