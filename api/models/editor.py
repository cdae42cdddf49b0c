"""The guided policy editor: a policy document as a form (conditions as rows in groups), the
editor's state in both views, the vocabulary for its pickers, and clause proposals."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.models.policies import ProblemPublic


class RowForm(BaseModel):
    """One condition. When ``structured`` it is ``field op value`` and ``when`` is composed
    from them; otherwise ``when`` is the expression as written."""

    type: Literal["condition"] = "condition"
    id: str | None = None
    label: str = ""
    clause: str | None = None
    document: str | None = None  # the basis document it cites (文号 or title); None: the first
    when: str = ""
    field: str | None = None
    op: str | None = None
    value: str = ""
    structured: bool = False
    default_label: str | None = None  # the label written when the officer gives none
    line: int | None = None


class GroupForm(BaseModel):
    """全部满足 (all), 满足其一 (any) or 不满足 (not, one item)."""

    type: Literal["group"] = "group"
    kind: Literal["all", "any", "not"] = "all"
    label: str | None = None
    clause: str | None = None
    items: list[Annotated[RowForm | GroupForm, Field(discriminator="type")]] = Field(
        default_factory=list)
    line: int | None = None


class BasisForm(BaseModel):
    document: str = ""  # 文号; empty for a text without one (then the title names it)
    title: str | None = None
    clause: str | None = None
    url: str | None = None
    text: str | None = None  # the clause text as read


class EffectiveForm(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: str = Field(default="", alias="from")
    to: str | None = None


class DatedValueForm(BaseModel):
    since: str
    value: str


class ParameterForm(BaseModel):
    name: str
    values: list[DatedValueForm] = Field(default_factory=list)


class DeclaredForm(BaseModel):
    """A condition the applicant declares (rules.declared)."""

    name: str = ""
    label: str = ""
    type: str = "bool"
    clause: str | None = None
    unit: str | None = None


class TierRowForm(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: str = Field(alias="from")
    value: str


class CaseForm(BaseModel):
    when: str | None = None  # None: the else branch
    value: str


class AmountForm(BaseModel):
    kind: Literal["formula", "tiers", "cases"] = "formula"
    formula: str = ""
    by: str = ""
    tiers: list[TierRowForm] = Field(default_factory=list)
    cases: list[CaseForm] = Field(default_factory=list)
    period: str = "once"
    #: what the amount is (rules.model AMOUNT_KINDS: cash, tax_saving, deduction, in_kind)
    money_kind: str = "cash"
    label: str | None = None


class ExclusivityForm(BaseModel):
    group: str
    priority: int = 0


class BudgetForm(BaseModel):
    total: str
    allocation: Literal["ordered", "pro_rata"] = "ordered"
    order: list[str] = Field(default_factory=list)


class PolicyForm(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str = ""
    title: str = ""
    entity: str = "enterprise"
    description: str | None = None
    basis: BasisForm = Field(default_factory=BasisForm)
    further_basis: list[BasisForm] = Field(default_factory=list)  # documents after the first
    effective: EffectiveForm = Field(default_factory=EffectiveForm)
    delivery: str = "direct"
    parameters: list[ParameterForm] = Field(default_factory=list)
    declared: list[DeclaredForm] = Field(default_factory=list)  # the applicant declares these
    eligibility: GroupForm = Field(default_factory=GroupForm)
    amount: AmountForm | None = None
    exclusivity: ExclusivityForm | None = None
    budget: BudgetForm | None = None
    other_keys: list[str] = Field(default_factory=list)  # kept as written (e.g. trigger)


class EditorProblem(ProblemPublic):
    target: str | None = None  # "row:0.2" (a condition or group) or "key:amount"


class EditorState(BaseModel):
    """Both views of one document: the text, the form read from it, and its check."""

    text: str
    form: PolicyForm | None
    form_error: str | None = None
    valid: bool
    problems: list[EditorProblem]
    policy: dict[str, Any] | None = None


class TextIn(BaseModel):
    yaml: str = Field(max_length=200_000)


class FormIn(BaseModel):
    form: PolicyForm
    base: str = Field(default="", max_length=200_000)  # the text the form was read from


class ProposalsIn(BaseModel):
    text: str = Field(min_length=1, max_length=20_000)
    entity: Literal["enterprise", "person"] = "enterprise"


class ProposalPublic(BaseModel):
    field: str
    field_label: str
    op: str
    op_word: str
    value: str
    when: str
    label: str
    row: RowForm


class FieldPublic(BaseModel):
    name: str
    label: str
    type: str
    unit: str | None
    unit_word: str
    source: str | None
    kind: str
    values: list[str] | None
    format: str | None
    empty: str


class NamedSetPublic(BaseModel):
    name: str
    label: str
    kind: str


class VocabularyPublic(BaseModel):
    entity: str
    fields: list[FieldPublic]
    operators: dict[str, list[dict[str, str]]]  # by field type: [{op, word}]
    sets: list[NamedSetPublic]
    regions: list[str]
    deliveries: dict[str, str]
    periods: dict[str, str]
