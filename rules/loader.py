"""Load and check policy files: one YAML document per policy; a library is a set of them.

>>> lib = bundled_library()
>>> lib["cit-small-low-profit"].title
'小型微利企业所得税优惠'
>>> "family-planning-special-support" in {p.id for p in lib.for_entity("person")}
True
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from profiles.catalog import ENTITIES, Catalog, load_catalog
from rules import ast
from rules.caps import cap_problems, read_cap
from rules.checker import Checker, Scope
from rules.declared import read_declared, with_declared
from rules.errors import PolicyError, Problem, UnknownPolicyError
from rules.model import (
    DELIVERIES,
    UNVERIFIED,
    VERIFICATIONS,
    Basis,
    Budget,
    BudgetOrder,
    Exclusivity,
    Policy,
    leaves,
)
from rules.parser import parse_number
from rules.schema import BASIS_KEYS, REQUIRED_KEYS, TOP_KEYS, Reader, type_word
from rules.sets import NamedSets, bundled_sets, load_sets
from rules.suggest import suggest, suggest_policy
from rules.triggers import read_trigger
from rules.yaml_text import position, read_yaml_file

SETS_FILE = "sets.yaml"


@dataclass(frozen=True)
class Library:
    """Checked policies by id, and the named sets they use."""

    policies: dict[str, Policy]
    sets: NamedSets

    def __getitem__(self, policy_id: str) -> Policy:
        try:
            return self.policies[policy_id]
        except KeyError:
            raise UnknownPolicyError(policy_id,
                                     suggest_policy(policy_id, list(self.policies))) from None

    def __contains__(self, policy_id: object) -> bool:
        return policy_id in self.policies

    def __iter__(self) -> Iterator[Policy]:
        return iter(self.policies.values())

    def __len__(self) -> int:
        return len(self.policies)

    def for_entity(self, entity: str) -> tuple[Policy, ...]:
        return tuple(p for p in self.policies.values() if p.entity == entity)


def _plain(node: Any) -> Any:
    if isinstance(node, Mapping):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, dt.date):
        return node.isoformat()
    return node if isinstance(node, int | float | bool) or node is None else str(node)


def canonical_version(data: Any) -> str:
    """First 16 hex digits of the sha256 of the document's canonical JSON (comments, key order
    and layout do not change it).

    >>> canonical_version({"b": 1, "a": [2]}) == canonical_version({"a": [2], "b": 1})
    True
    """
    text = json.dumps(_plain(data), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _read_yaml(path: Path, file: str) -> tuple[Any, str]:
    return read_yaml_file(path, file=file)


def _load(path: Path, *, catalog: Catalog, sets: NamedSets,
          known: Mapping[str, str] | None) -> tuple[Policy | None, list[Problem]]:
    file = str(path)
    try:
        data, text = _read_yaml(path, file)
    except PolicyError as err:
        return None, list(err.problems)
    r = Reader(file, text)
    if not isinstance(data, CommentedMap):
        r.error(ast.Pos(1, 1), "schema", f"期望政策的映射，实际为 {type_word(data)}")
        return None, r.problems
    r.only_keys(data, TOP_KEYS, where="政策")
    missing = [k for k in REQUIRED_KEYS if k not in data]
    for key in missing:
        r.error(ast.Pos(1, 1), "schema", f"期望政策中有 '{key}'，实际没有")
    if missing:
        return None, r.problems
    pid, title = r.text(data, "id"), r.text(data, "title")
    entity = r.choice(data, "entity", ENTITIES, "bad-entity")
    delivery = r.choice(data, "delivery", DELIVERIES, "bad-delivery")
    bases = _bases(r, data)
    basis = bases[0] if bases else None
    verification = (r.choice(data, "verification", VERIFICATIONS, "bad-verification")
                    if "verification" in data else None)
    eff = r.mapping(data, "effective", ("from", "to"))
    start = r.date(eff, "from") if eff is not None else None
    end = r.date(eff, "to") if eff is not None and eff.get("to") is not None else None
    if start and end and end < start:
        r.error(r.value_pos(eff, "to"), "inverted-effective", f"期望有效期的结束日期"
                f"不早于 {start}，实际为 {end}")
    params = r.parameters(data, start)
    declared = (read_declared(r, data, catalog.entity(entity) if entity else None)
                if "declared" in data else ())
    if entity is not None:
        r.checker = Checker(Scope(entity=with_declared(catalog.entity(entity), declared),
                                  sets=sets, file=file,
                                  parameters=params, policies=known, policy_id=pid))
        r.checker.parameters()
    counter = [0]
    tree = r.condition_tree(data, "eligibility", counter)
    amount = r.amount(data) if "amount" in data else None
    excl = _exclusivity(r, data) if "exclusivity" in data else None
    budget = _budget(r, data, catalog, entity) if "budget" in data else None
    trigger = read_trigger(r, data) if "trigger" in data else None
    cap = read_cap(r, data) if "cap" in data else None
    description = r.text(data, "description", required=False)
    if r.checker is not None:
        r.problems += r.checker.problems
    if tree is not None:
        seen: set[str] = set()
        for cond in leaves(tree):
            if cond.id in seen:
                r.error(cond.pos, "duplicate-id", f"期望条件 id 不重复，实际为 "
                        f"'{cond.id}' 出现两次")
            seen.add(cond.id)
            names = [n for b in bases for n in (b.document, b.title) if n]
            if cond.document is not None and cond.document not in names:
                r.error(cond.pos, "unknown-document", f"期望条件的 document 为 "
                        f"依据文件({', '.join(names)})之一，实际为 "
                        f"'{cond.document}'", suggest(cond.document, names))
    if r.problems or None in (pid, title, entity, delivery, basis, start, tree, r.checker):
        return None, r.problems
    policy = Policy(
        id=pid, title=title, entity=entity, basis=basis, effective_from=start,  # type: ignore[arg-type]
        effective_to=end, delivery=delivery, eligibility=tree,  # type: ignore[arg-type]
        parameters=params, amount=amount, exclusivity=excl, budget=budget,
        description=description,
        version=canonical_version(data), source=file, trigger=trigger, cap=cap,
        further_basis=tuple(bases[1:]), verified=verification != UNVERIFIED,
        declared=declared,
    )
    return policy, []


def _load_guarded(path: Path, *, catalog: Catalog, sets: NamedSets,
                  known: Mapping[str, str] | None) -> tuple[Policy | None, list[Problem]]:
    """:func:`_load`, with a last line of defence: whatever a file holds, checking it ends in
    located problems, never in an exception (a problem coded ``internal-error`` is a defect
    of the checker, which the tests that feed it malformed files look for)."""
    try:
        return _load(path, catalog=catalog, sets=sets, known=known)
    except RecursionError:
        message = "期望可检查的政策文件，实际结构嵌套过深，检查器无法处理"
    except Exception as err:  # the last line of defence, see above
        message = (f"期望可检查的政策文件，实际检查器在此文件上出错({type(err).__name__})；"
                   "请把此文件报告给维护人员")
    return None, [Problem(file=str(path), line=1, column=1, code="internal-error",
                          message=message)]


def _bases(r: Reader, data: CommentedMap) -> list[Basis]:
    """``basis``: one document (a mapping, or a bare 文号) or a list of them; each needs a 文号
    (``document``) or, for a text that has none, a ``title``."""
    raw = data["basis"]
    if isinstance(raw, str):
        return [Basis(document=raw)]
    if isinstance(raw, CommentedSeq):
        if not raw:
            r.error(r.value_pos(data, "basis"), "schema",
                    "期望 'basis' 下至少有一个文件，实际为 空列表")
            return []
        found = [_one_basis(r, raw, i) for i in range(len(raw))]
        return [b for b in found if b is not None] if None not in found else []
    one = _one_basis(r, data, "basis")
    return [] if one is None else [one]


def _one_basis(r: Reader, node: Any, key: Any) -> Basis | None:
    body = node[key]
    if not isinstance(body, CommentedMap):
        r.error(r.value_pos(node, key), "schema", "期望 'basis' 下为文件 {document: 文号, title, "
                f"clause, url, text}}，实际为 {type_word(body)}")
        return None
    r.only_keys(body, BASIS_KEYS, where="依据文件")
    doc = r.text(body, "document", required=False) or None
    title = r.text(body, "title", required=False) or None
    if doc is None and title is None:
        r.error(r.node_pos(body), "schema", "期望依据文件中有 'document'(文号)，无文号的"
                "文件则有 'title'，实际两者都没有")
        return None
    return Basis(document=doc, title=title, clause=r.text(body, "clause", required=False),
                 url=r.text(body, "url", required=False),
                 text=r.text(body, "text", required=False))


def _exclusivity(r: Reader, data: CommentedMap) -> Exclusivity | None:
    body = r.mapping(data, "exclusivity", ("group", "priority"))
    group = r.text(body, "group") if body is not None else None
    if body is None or group is None:
        return None
    prio = body.get("priority", 0)
    if not isinstance(prio, int) or isinstance(prio, bool):
        r.error(r.value_pos(body, "priority"), "schema",
                f"期望 priority 为整数，实际为 {type_word(prio)}")
        return None
    return Exclusivity(group=group, priority=prio)


def _budget(r: Reader, data: CommentedMap, catalog: Catalog,
            entity: str | None) -> Budget | None:
    body = r.mapping(data, "budget", ("total", "allocation", "order"))
    if body is None:
        return None
    total = body.get("total")
    try:
        amount = float(total) if isinstance(total, int | float) else parse_number(str(total)).value
    except (ArithmeticError, ValueError):
        amount = math.nan
    if isinstance(total, bool) or not math.isfinite(amount) or amount < 0:
        r.error(r.value_pos(body, "total"), "schema",
                f"期望预算总额为不小于 0 的金额(如 5000万)，实际为 {type_word(total)}")
        return None
    allocation = body.get("allocation", "ordered")
    if allocation not in ("ordered", "pro_rata"):
        r.error(r.value_pos(body, "allocation"), "schema", "期望 allocation 为 "
                f"ordered、pro_rata 之一，实际为 '{allocation}'")
        return None
    order: list[BudgetOrder] = []
    raw_order = body.get("order") or []
    if not isinstance(raw_order, list):
        r.error(r.value_pos(body, "order"), "schema", "期望 order 为字段名的列表(如 "
                f"[little_giant_on, -employees])，实际为 {type_word(raw_order)}")
        return None
    for i, item in enumerate(raw_order):
        name = str(item).lstrip("-").strip()
        ecat = catalog.entity(entity) if entity else None
        if ecat is not None and name not in ecat:
            r.error(r.value_pos(body["order"], i), "unknown-field", f"期望预算排序依据为 "
                    f"{entity} 目录中的字段，实际为 '{name}'", ecat.suggest(name))
            continue
        fname = ecat.field(name).name if ecat else name
        order.append(BudgetOrder(field=fname, descending=str(item).startswith("-")))
    return Budget(total=amount, allocation=allocation, order=tuple(order))


def load_policy(path: Path | str, *, catalog: Catalog | None = None,
                sets: NamedSets | None = None,
                known_policies: Mapping[str, str] | None = None) -> Policy:
    """Load and check one policy file; raise :class:`PolicyError` with every problem found.

    ``known_policies`` (id -> entity) enables the check of ``eligible("…")`` references.

    >>> path = resources.files("rules").joinpath("library/cit-small-low-profit.yaml")
    >>> load_policy(str(path)).conditions[2].label
    '年度应纳税所得额不超过300万元'
    """
    policy, problems = _load_guarded(Path(path), catalog=catalog or load_catalog(),
                             sets=sets if sets is not None else bundled_sets(),
                             known=known_policies)
    if problems or policy is None:
        raise PolicyError(sorted(problems, key=lambda p: (p.line, p.column)))
    return policy


def policy_files(paths_or_dirs: Iterable[Path | str]) -> list[Path]:
    """Policy files named by ``paths_or_dirs`` (directories: every *.yaml but sets.yaml).

    >>> names = [p.name for p in policy_files([library_dir()])]
    >>> names == sorted(names) and "cit-small-low-profit.yaml" in names
    True
    """
    out: list[Path] = []
    for item in paths_or_dirs:
        path = Path(item)
        if path.is_dir():
            out += sorted(p for p in path.glob("*.yaml") if p.name != SETS_FILE)
        else:
            out.append(path)
    return out


def _sets_for(paths_or_dirs: Iterable[Path | str]) -> NamedSets:
    merged = dict(bundled_sets())
    for item in paths_or_dirs:
        candidate = Path(item) / SETS_FILE
        if Path(item).is_dir() and candidate.exists():
            merged.update(load_sets(candidate))
    return NamedSets(merged)


def _scan_ids(files: list[Path]) -> dict[Path, tuple[str, str, ast.Pos]]:
    """id, entity and id position of each file that has them (problems are reported later)."""
    out: dict[Path, tuple[str, str, ast.Pos]] = {}
    for path in files:
        try:
            data, _ = _read_yaml(path, str(path))
        except (PolicyError, OSError):
            continue
        if isinstance(data, CommentedMap) and "id" in data:
            out[path] = (str(data["id"]), str(data.get("entity")),
                         ast.Pos(*position(data, "id")))
    return out


def _cycles(policies: dict[str, Policy]) -> list[Problem]:
    problems: list[Problem] = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done

    def visit(pid: str, stack: list[str]) -> None:
        state[pid] = 1
        policy = policies[pid]
        for cond in policy.conditions:
            for node in cond.expr.walk():
                if not isinstance(node, ast.PolicyRef) or node.policy_id not in policies:
                    continue
                ref = node.policy_id
                if state.get(ref) == 1:
                    path = [*stack, pid]
                    cycle = " -> ".join([*path[path.index(ref):], ref])
                    problems.append(Problem(
                        file=policy.source or pid, line=node.pos.line, column=node.pos.column,
                        code="reference-cycle", message="期望 eligible() 引用"
                        f"不成环，实际为 {cycle}"))
                elif ref not in state:
                    visit(ref, [*stack, pid])
        state[pid] = 2

    for pid in sorted(policies):
        if pid not in state:
            visit(pid, [])
    return problems


def _unverified_references(policies: Mapping[str, Policy],
                           everything: Mapping[str, Policy]) -> list[Problem]:
    """A verified policy may not depend on the outcome of one marked 待核 (which is never
    published, so the reference could never be decided)."""
    problems: list[Problem] = []
    for policy in policies.values():
        if not policy.verified:
            continue
        for cond in policy.conditions:
            for node in cond.expr.walk():
                target = (everything.get(node.policy_id)
                          if isinstance(node, ast.PolicyRef) else None)
                if target is not None and not target.verified:
                    problems.append(Problem(
                        file=policy.source or policy.id, line=node.pos.line,
                        column=node.pos.column, code="unverified-reference",
                        message=f"期望 eligible() 引用已核实的政策，实际为 "
                        f"标为待核的 '{target.id}'"))
    return problems


def load_library(paths_or_dirs: Iterable[Path | str], *, catalog: Catalog | None = None,
                 sets: NamedSets | None = None, base: Library | None = None) -> Library:
    """Load every policy of the given files and directories, check each one and what spans
    files (duplicate ids, unknown or cross-entity references, reference cycles); raise one
    :class:`PolicyError` with all problems. ``eligible()`` may also name policies of ``base``.

    >>> lib = load_library([resources.files("rules").joinpath("library")])
    >>> sorted(lib["six-taxes-two-fees-half"].references)
    ['cit-small-low-profit']
    """
    items = list(paths_or_dirs)
    files = policy_files(items)
    sets = sets if sets is not None else _sets_for(items)
    catalog = catalog or load_catalog()
    scanned = _scan_ids(files)
    known: dict[str, str] = {p.id: p.entity for p in base} if base is not None else {}
    known.update({pid: entity for pid, entity, _ in scanned.values()})
    problems: list[Problem] = []
    policies: dict[str, Policy] = {}
    first: dict[str, Path] = {}
    for path in files:
        policy, found = _load_guarded(path, catalog=catalog, sets=sets, known=known)
        problems += sorted(found, key=lambda p: (p.line, p.column))
        if path in scanned:
            pid, _, pos = scanned[path]
            if pid in first:
                problems.append(Problem(file=str(path), line=pos.line, column=pos.column,
                                        code="duplicate-id", message=f"期望政策 id "
                                        f"不重复，实际为 '{pid}'，已在 {first[pid]} 中"))
                continue
            first[pid] = path
        if policy is not None:
            policies[policy.id] = policy
    problems += _cycles(policies)
    problems += cap_problems([*policies.values(), *(base or ())])
    everything = {**({p.id: p for p in base} if base is not None else {}), **policies}
    problems += _unverified_references(policies, everything)
    if problems:
        raise PolicyError(problems)
    if base is not None:
        for p in base:
            policies.setdefault(p.id, p)
    return Library(policies=policies, sets=sets)


def library_dir() -> Path:
    """The directory of the bundled policy files."""
    return Path(str(resources.files("rules").joinpath("library")))


@cache
def bundled_library() -> Library:
    """The bundled library (``rules/library/``), loaded and checked once."""
    return load_library([library_dir()])
