"""The policy AST compiled to DuckDB SQL, all policies in one query over the profile frame.

SQL's NULL logic is Kleene, so AND / OR / NOT carry UNKNOWN (NULL) exactly as DESIGN §3
asks. The rest of the semantics is spelled out where SQL differs: division by zero is NULL
(``NULLIF``), ``least`` / ``greatest`` skip NULLs in DuckDB so min/max are guarded, full
years / months are computed from the date parts, set and region membership match code
prefixes, and an atom on an empty list-type field (catalog ``empty: not_listed``) is decided
as :mod:`rules.semantics` says (FALSE, except ``!=`` / ``not in`` which are TRUE); a bare
boolean list field that is empty is FALSE; a declared field is NULL.

>>> import datetime as dt
>>> from rules import ast as A
>>> from profiles.catalog import load_catalog
>>> sql = SqlCompiler(catalog=load_catalog().entity("enterprise"), sets={},
...                   as_of=dt.date(2025, 6, 30), parameters={})
>>> sql.truth(A.Compare(op="<=", left=A.FieldRef(name="employees"), right=A.Number(value=300)))
'("employees" <= 300.0)'
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import duckdb
import polars as pl

from profiles.catalog import OWNER_COLUMN, EntityCatalog, Relation, load_catalog
from profiles.relations import RelatedFrame
from rules import ast as A
from rules.compile_related import has_interval
from rules.declared import for_policies
from rules.errors import UnsupportedNode
from rules.ledger import ledger_column
from rules.model import (
    ConditionNode,
    Parameter,
    Policy,
    condition_expr,
)
from rules.possible import possible_test
from rules.printer import to_source
from rules.semantics import (
    decided_value,
    is_declared,
    is_listed_bool,
    late_start_day,
    list_fields,
)
from rules.sets import NamedSet
from rules.years import bind_policy

TARGET = "DuckDB SQL"
ROW = "__row"  # the row number of a profile, added to the registered frame


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass
class SqlCompiler:
    """Compiles expressions of one policy to SQL text. ``sets`` maps a set name to its
    :class:`rules.sets.NamedSet`; ``parameters`` are the policy's, resolved by ``as_of``."""

    catalog: EntityCatalog
    sets: Mapping[str, NamedSet]
    as_of: dt.date
    parameters: Mapping[str, Parameter]
    related: RelatedSql | None = None
    # -- values ---------------------------------------------------------------------------

    def value(self, node: A.Expr) -> str:
        """Any core node: one rule per node type (:data:`RULES`)."""
        rule = RULES.get(type(node))
        if rule is None:
            raise UnsupportedNode(TARGET, node)
        out: str = rule(self, node)
        return out

    # -- truth ----------------------------------------------------------------------------

    def truth(self, node: A.Expr) -> str:
        """A boolean SQL expression; NULL = UNKNOWN. A bare list-type boolean that is empty
        is FALSE."""
        if is_listed_bool(node, self.catalog):
            return f"COALESCE({self.value(node)}, FALSE)"
        return self.value(node)

    def _possible(self, node: A.Compare | A.In, sql: str) -> str:
        """Where the tag is NULL, the truth its possible-set mask decides (rules.possible)."""
        test = possible_test(node, self.catalog, self.parameters, self.as_of)
        if test is None:
            return sql
        mask = quote_ident(test.column)

        def among(masks: tuple[int, ...]) -> str:
            return f"{mask} IN ({', '.join(map(str, masks))})" if masks else "FALSE"

        true, false = ("FALSE", "TRUE") if test.negated else ("TRUE", "FALSE")
        return (f"(CASE WHEN {quote_ident(test.field)} IS NOT NULL THEN {sql} "
                f"WHEN {among(test.within)} THEN {true} WHEN {among(test.outside)} THEN {false} "
                "END)")

    def _decided(self, node: A.Compare | A.In | A.IsEmpty, sql: str) -> str:
        """An atom reading an empty list-type field has the value the rule language decides
        (:func:`rules.semantics.decided_value`), whatever its other operands."""
        listed = list_fields(node, self.catalog)
        if not listed:
            return sql
        decided = "TRUE" if decided_value(node) else "FALSE"
        empty = " OR ".join(f"{quote_ident(f)} IS NULL" for f in listed)
        return f"(CASE WHEN {empty} THEN {decided} ELSE {sql} END)"

    def param(self, node: A.ParamRef) -> A.Expr | None:
        """The parameter's value in force on ``as_of``; None (NULL) before its first date."""
        param = self.parameters.get(node.name)
        return param.at(self.as_of) if param is not None else None


def _param_value(c: SqlCompiler, node: A.Expr) -> str:
    assert isinstance(node, A.ParamRef)
    bound = c.param(node)
    return "NULL" if bound is None else c.value(bound)


def _arith(c: SqlCompiler, node: A.Expr) -> str:
    assert isinstance(node, A.Arith)
    if has_interval(node):
        return _exact(_interval(c, node))
    left, right = c.value(node.left), c.value(node.right)
    if node.op == "/":
        return f"(CAST({left} AS DOUBLE) / NULLIF(CAST({right} AS DOUBLE), 0))"
    return f"({left} {node.op} {right})"


def _call(c: SqlCompiler, node: A.Expr) -> str:
    assert isinstance(node, A.Call)
    args = [c.value(a) for a in node.args]
    if node.func in ("min", "max"):
        guard = " OR ".join(f"{a} IS NULL" for a in args)
        fn = "least" if node.func == "min" else "greatest"
        return f"(CASE WHEN {guard} THEN NULL ELSE {fn}({', '.join(args)}) END)"
    if node.func == "abs":
        return f"abs({args[0]})"
    (d,) = args
    if node.func == "year":
        return f"year({d})"
    y, m, day = c.as_of.year, c.as_of.month, late_start_day(c.as_of)
    if node.func == "years_since":
        return (f"({y} - year({d}) - CASE WHEN month({d}) > {m} OR (month({d}) = {m} "
                f"AND day({d}) > {day}) THEN 1 ELSE 0 END)")
    if node.func == "months_since":
        return (f"(({y} - year({d})) * 12 + {m} - month({d}) - CASE WHEN day({d}) > {day} "
                "THEN 1 ELSE 0 END)")
    raise UnsupportedNode(TARGET, node)


def _string(c: SqlCompiler, node: A.Expr) -> str:
    assert isinstance(node, A.String)
    return quote_str(node.value)


def _bool_lit(c: SqlCompiler, node: A.Expr) -> str:
    assert isinstance(node, A.Bool)
    return "TRUE" if node.value else "FALSE"


def _number(c: SqlCompiler, node: A.Expr) -> str:
    assert isinstance(node, A.Number)
    return repr(float(node.value))


def _date(c: SqlCompiler, node: A.Expr) -> str:
    day = node.value if isinstance(node, A.Date) else c.as_of
    return f"DATE '{day.isoformat()}'"


def _field_ref(c: SqlCompiler, node: A.Expr) -> str:
    assert isinstance(node, A.FieldRef)
    if is_declared(node.name, c.catalog):  # only the applicant can declare it: UNKNOWN
        return f"CAST(NULL AS {_SQL_TYPES[c.catalog.field(node.name).type]})"
    return quote_ident(node.name)


_SQL_TYPES = {"str": "VARCHAR", "int": "BIGINT", "float": "DOUBLE", "date": "DATE",
              "bool": "BOOLEAN"}


def _neg(c: SqlCompiler, node: A.Expr) -> str:
    assert isinstance(node, A.Neg)
    if has_interval(node):
        return _exact(_interval(c, node))
    return f"(- {c.value(node.item)})"


def _atom(raw: Callable[[SqlCompiler, Any], str]) -> Rule:
    def rule(c: SqlCompiler, node: A.Expr) -> str:
        return c._decided(node, raw(c, node))  # type: ignore[arg-type]

    return rule


def _compare(c: SqlCompiler, node: A.Compare) -> str:
    if has_interval(node.left) or has_interval(node.right):
        return _interval_compare(node.op, _interval(c, node.left), _interval(c, node.right))
    op = "=" if node.op == "=" else "<>" if node.op == "!=" else node.op
    return f"({c.value(node.left)} {op} {c.value(node.right)})"


def _in(c: SqlCompiler, node: A.In) -> str:
    item = c.value(node.item)
    membership: Membership | str = c.value(node.container)
    if isinstance(membership, str):  # a dated list parameter with no value yet: UNKNOWN
        return "CAST(NULL AS BOOLEAN)"
    inside = membership(item)
    return f"(NOT {inside})" if node.negated else inside


def _is_empty(c: SqlCompiler, node: A.IsEmpty) -> str:
    return f"({c.value(node.item)} IS {'NOT ' if node.negated else ''}NULL)"


def _list(c: SqlCompiler, node: A.ListLit) -> Membership:
    values = ", ".join(c.value(i) for i in node.items)
    return lambda item: (f"({item} IN ({values}))" if values
                         else f"CASE WHEN {item} IS NULL THEN NULL ELSE FALSE END")


def _prefixes(item: str, prefixes: tuple[str, ...]) -> str:
    if not prefixes:
        return f"CASE WHEN {item} IS NULL THEN NULL ELSE FALSE END"
    return "(" + " OR ".join(f"starts_with({item}, {quote_str(p)})" for p in prefixes) + ")"


def _set(c: SqlCompiler, node: A.SetRef) -> Membership:
    """The edition in force (rules.sets); the longest listed code decides: TRUE on a
    member, NULL on a 待核 one, FALSE on an excluded code or none."""
    named = c.sets[node.name].at(c.as_of)
    words = {True: "TRUE", None: "NULL", False: "FALSE"}

    def member(item: str) -> str:
        hits = [(f"starts_with({item}, {quote_str(code)})" if named.by_prefix
                 else f"{item} = {quote_str(code)}", words[status])
                for code, status in named.statuses()]
        whens = " ".join(f"WHEN {hit} THEN {word}" for hit, word in hits)
        return f"(CASE WHEN {item} IS NULL THEN NULL {whens} ELSE FALSE END)"

    return member


def _region(c: SqlCompiler, node: A.RegionRef) -> Membership:
    return lambda item: _prefixes(item, (node.prefix,))


def _tiers(c: SqlCompiler, node: A.Tiers) -> str:
    """Every row still possible (rules.amount_branches.tier_branches), agreed."""
    meets = [c.truth(m) for m in node.selectors()]
    branches: list[tuple[str, str]] = [(f"(NOT COALESCE({meets[0]}, FALSE))", "NULL")]
    for i, value in enumerate(node.values):
        possible = f"COALESCE({meets[i]}, TRUE)"
        if i + 1 < len(meets):
            possible += f" AND NOT COALESCE({meets[i + 1]}, FALSE)"
        branches.append((f"({possible})", c.value(value)))
    return _agreed(branches)


def _cases(c: SqlCompiler, node: A.Cases) -> str:
    """Every case still possible (rules.amount_branches.case_branches), agreed."""
    branches: list[tuple[str, str]] = []
    reach = "TRUE"  # no earlier case TRUE
    for when, value in zip(node.whens, node.values, strict=True):
        truth = c.truth(when)
        branches.append((f"({reach} AND COALESCE({truth}, TRUE))", c.value(value)))
        reach = f"({reach} AND NOT COALESCE({truth}, FALSE))"
    if node.otherwise is not None:
        branches.append((reach, c.value(node.otherwise)))
        reach = "FALSE"
    return _agreed([*branches, (reach, "NULL")])


def _unsupported(c: SqlCompiler, node: A.Expr) -> str:
    """Not in this peer: the bench policies do not refer to other policies."""
    raise UnsupportedNode(TARGET, node)


Rule = Callable[[SqlCompiler, Any], Any]
Membership = Callable[[str], str]  # a container: SQL of "the item is in it"

#: The SQL form of every core node (:data:`rules.ast.CORE`); :data:`rules.interpret.RULES`
#: is the specification (SQL's NULL logic is Kleene). A container compiles to a membership
#: test on the item's SQL.
RULES: dict[type, Rule] = {
    A.Number: _number,
    A.String: _string,
    A.Bool: _bool_lit,
    A.Date: _date,
    A.AsOf: _date,
    A.FieldRef: _field_ref,
    A.ParamRef: _param_value,
    A.SetRef: _set,
    A.RegionRef: _region,
    A.ListLit: _list,
    A.PolicyRef: _unsupported,
    A.LedgerRef: lambda c, n: quote_ident(ledger_column(n)),  # join_ledger's column
    A.Compare: _atom(lambda c, n: c._possible(n, _compare(c, n))),
    A.In: _atom(lambda c, n: c._possible(n, _in(c, n))),
    A.IsEmpty: _atom(_is_empty),
    A.And: lambda c, n: "(" + " AND ".join(c.truth(i) for i in n.items) + ")",
    A.Or: lambda c, n: "(" + " OR ".join(c.truth(i) for i in n.items) + ")",
    A.Not: lambda c, n: f"(NOT {c.truth(n.item)})",
    A.Arith: _arith,
    A.Neg: _neg,
    A.Call: _call,
    A.Aggregate: lambda c, n: _exact(_interval(c, n)),
    A.Tiers: _tiers,
    A.Cases: _cases,
}


# ---- aggregates over related entities: a group-by per aggregate, joined on the owner ------

Bounds = tuple[str, str]  # SQL of (lo, hi): every value the aggregate may take (rules.intervals)


@dataclass
class RelatedSql:
    """The member tables of the relations (registered as ``rel_<n>``), whether each lists
    its owners (``own_<n>``: an owner absent from it is not on record), and the per-owner
    subqueries of the aggregates met so far, joined to the profiles on ``key``."""

    catalog: EntityCatalog
    key: str
    tables: dict[str, tuple[str, str | None]]  # relation -> (members table, owners table)
    joins: list[str] = field(default_factory=list)
    _seen: dict[str, Bounds] = field(default_factory=dict)

    def bounds(self, c: SqlCompiler, node: A.Aggregate) -> Bounds:
        rel = load_catalog().relation(self.catalog.name, node.relation)
        if rel is None or rel.name not in self.tables:
            return "NULL", "NULL"  # no data for the relation: UNKNOWN, never 0
        ident = f"{rel.name}|{to_source(node)}|{sorted(c.parameters.items())!r}"
        if ident not in self._seen:
            self._seen[ident] = self._subquery(c, node, rel)
        return self._seen[ident]

    def _subquery(self, c: SqlCompiler, node: A.Aggregate, rel: Relation) -> Bounds:
        members, owners = self.tables[rel.name]
        m = SqlCompiler(catalog=load_catalog().member_scope(rel), sets=c.sets, as_of=c.as_of,
                        parameters=c.parameters)
        w = "TRUE" if node.where is None else m.truth(node.where)
        counted, sure = f"COALESCE({w}, TRUE)", f"COALESCE({w}, FALSE)"
        if node.func == "count":
            lo = f"SUM(CASE WHEN {sure} THEN 1 ELSE 0 END)"
            hi = f"SUM(CASE WHEN {counted} THEN 1 ELSE 0 END)"
            empty = "0"
        else:
            assert node.value is not None
            v = m.value(node.value)
            unknown = f"bool_or({counted} AND {v} IS NULL)"
            if node.func == "sum":
                part = (f"CASE WHEN {w} THEN {v} WHEN {w} IS NULL THEN {{}}({v}, 0) "
                        "ELSE 0 END")
                lo = f"CASE WHEN {unknown} THEN NULL ELSE SUM({part.format('least')}) END"
                hi = f"CASE WHEN {unknown} THEN NULL ELSE SUM({part.format('greatest')}) END"
                empty = "0"
            else:
                pick = node.func.upper()
                known = f"{v} IS NOT NULL"
                any_sure = f"bool_or({sure} AND {known})"
                near = f"CASE WHEN {any_sure} THEN {pick}({v}) FILTER (WHERE {sure}) END"
                far = (f"CASE WHEN {any_sure} AND NOT {unknown} THEN {pick}({v}) "
                       f"FILTER (WHERE {counted} AND {known}) END")
                lo, hi = (far, near) if node.func == "min" else (near, far)
                empty = "NULL"
        alias = f"__agg{len(self._seen)}"
        self.joins.append(
            f"LEFT JOIN (SELECT CAST({quote_ident(OWNER_COLUMN)} AS VARCHAR) AS k, {lo} AS lo, "
            f"{hi} AS hi FROM {members} GROUP BY 1) {alias} "
            f"ON CAST({quote_ident(self.key)} AS VARCHAR) = {alias}.k")
        on_record = ("TRUE" if owners is None else
                     f"({alias}.k IS NOT NULL OR CAST({quote_ident(self.key)} AS VARCHAR) IN "
                     f"(SELECT CAST({quote_ident(OWNER_COLUMN)} AS VARCHAR) FROM {owners}))")
        return tuple(  # type: ignore[return-value]
            f"(CASE WHEN {on_record} THEN (CASE WHEN {alias}.k IS NULL THEN {empty} "
            f"ELSE {alias}.{b} END) END)"
            for b in ("lo", "hi"))


def _exact(b: Bounds) -> str:
    """The value when the interval is one known point, else NULL."""
    lo, hi = b
    return f"(CASE WHEN {lo} IS NOT NULL AND {lo} = {hi} THEN {lo} END)"


def _interval(c: SqlCompiler, node: A.Expr) -> Bounds:
    rule = INTERVAL_RULES.get(type(node))
    if rule is None:
        value = c.value(node)
        return value, value
    return rule(c, node)


def _interval_aggregate(c: SqlCompiler, node: A.Aggregate) -> Bounds:
    if c.related is None:
        return "NULL", "NULL"
    return c.related.bounds(c, node)


def _known(*sql: str) -> str:
    return " AND ".join(f"{s} IS NOT NULL" for s in sql)


def _interval_arith(c: SqlCompiler, node: A.Arith) -> Bounds:
    (al, ah), (bl, bh) = _interval(c, node.left), _interval(c, node.right)
    if node.op == "+":
        return f"({al} + {bl})", f"({ah} + {bh})"
    if node.op == "-":
        return f"({al} - {bh})", f"({ah} - {bl})"
    ok = _known(al, ah, bl, bh)
    if node.op == "*":
        corners = [f"{x} * {y}" for x in (al, ah) for y in (bl, bh)]
    else:
        corners = [f"CAST({x} AS DOUBLE) / {y}" for x in (al, ah) for y in (bl, bh)]
        ok += f" AND ({bl} > 0 OR {bh} < 0)"
    listed = ", ".join(corners)
    return (f"(CASE WHEN {ok} THEN least({listed}) END)",
            f"(CASE WHEN {ok} THEN greatest({listed}) END)")


def _interval_neg(c: SqlCompiler, node: A.Neg) -> Bounds:
    lo, hi = _interval(c, node.item)
    return f"(- {hi})", f"(- {lo})"


#: Interval forms of the core nodes that can carry an interval (rules.intervals).
INTERVAL_RULES: dict[type, Callable[[SqlCompiler, Any], Bounds]] = {
    A.Aggregate: _interval_aggregate,
    A.Arith: _interval_arith,
    A.Neg: _interval_neg,
}


def _interval_compare(op: str, a: Bounds, b: Bounds) -> str:
    """:func:`rules.intervals.compare` in SQL: decided when every value decides alike."""
    (al, ah), (bl, bh) = a, b
    if op in ("=", "!="):
        equal = f"({_known(al, ah, bl, bh)} AND {al} = {ah} AND {bl} = {bh} AND {al} = {bl})"
        apart = f"(COALESCE({ah} < {bl}, FALSE) OR COALESCE({bh} < {al}, FALSE))"
        true_when, false_when = (equal, apart) if op == "=" else (apart, equal)
    else:
        true_when, false_when = {
            "<": (f"{ah} < {bl}", f"{bh} <= {al}"), "<=": (f"{ah} <= {bl}", f"{bh} < {al}"),
            ">": (f"{bh} < {al}", f"{ah} <= {bl}"), ">=": (f"{bh} <= {al}", f"{ah} < {bl}"),
        }[op]
    return (f"(CASE WHEN COALESCE({true_when}, FALSE) THEN TRUE "
            f"WHEN COALESCE({false_when}, FALSE) THEN FALSE END)")


def tree_sql(c: SqlCompiler, node: ConditionNode) -> str:
    """The Kleene truth of a condition tree: the core expression it stands for."""
    return c.truth(condition_expr(node))


def amount_sql(c: SqlCompiler, policy: Policy) -> str | None:
    """The amount as DOUBLE; NULL when an input is UNKNOWN. None when the policy has none."""
    if policy.amount is None:
        return None
    body = c.value(policy.amount.expr)  # its core expression
    return f"CAST({body} AS DOUBLE)"


def _agreed(branches: list[tuple[str, str]]) -> str:
    """The amount every still-possible branch gives; NULL when they differ or one is
    UNKNOWN. ``branches``: (possible, value) in SQL."""
    unknown = " OR ".join(f"({p} AND ({v}) IS NULL)" for p, v in branches)
    values = [f"CASE WHEN {p} THEN CAST({v} AS DOUBLE) END" for p, v in branches]
    low, high = f"least({', '.join(values)})", f"greatest({', '.join(values)})"
    return f"CASE WHEN {unknown} THEN NULL WHEN {low} = {high} THEN {low} END"


def compile_query(policies: Iterable[Policy], *, catalog: EntityCatalog,
                  sets: Mapping[str, NamedSet], as_of: dt.date,
                  table: str = "profiles",
                  related: Mapping[str, tuple[str, str | None]] | None = None) -> str:
    """One SELECT with ``<id>`` (truth) and ``<id>.amount`` columns per policy. ``related``
    names, per relation, the table of its members and the table of its owners (None: every
    owner is on record); an aggregate over a relation not there is UNKNOWN."""
    policies = list(policies)
    catalog = for_policies(catalog, policies)  # declared conditions: NULL (rules.declared)
    rel = RelatedSql(catalog=catalog, key=catalog.key, tables=dict(related or {}))
    columns = []
    for policy in (bind_policy(p, as_of) for p in policies):  # yearly fields: year columns
        c = SqlCompiler(catalog=catalog, sets=sets, as_of=as_of, parameters=policy.parameters,
                        related=rel)
        columns.append(f"{tree_sql(c, policy.eligibility)} AS {quote_ident(policy.id)}")
        amount = amount_sql(c, policy)
        if amount is not None:
            columns.append(f"{amount} AS {quote_ident(policy.id + '.amount')}")
    if not rel.joins:
        return f"SELECT {', '.join(columns)} FROM {table}"
    # joins to one row per owner; the table's row number (ROW) keeps the profiles' order
    return (f"SELECT {', '.join(columns)} FROM {table} {' '.join(rel.joins)} "
            f"ORDER BY {quote_ident(ROW)}")


def evaluate(frame: pl.DataFrame, policies: Iterable[Policy], *, catalog: EntityCatalog,
             sets: Mapping[str, NamedSet], as_of: dt.date,
             threads: int | None = None,
             related: Mapping[str, RelatedFrame] | None = None) -> pl.DataFrame:
    """Run every policy over ``frame`` in one DuckDB query; a wide polars frame back.
    ``related``: the member frames of the relations the policies aggregate over; award-ledger
    lookups read the frame's columns of :func:`rules.ledger.join_ledger`."""
    con = duckdb.connect()
    try:
        if threads is not None:
            con.execute(f"SET threads = {int(threads)}")
        tables: dict[str, tuple[str, str | None]] = {}
        for n, (name, rf) in enumerate(sorted((related or {}).items())):
            con.register(f"rel_{n}", rf.members.collect().to_arrow())
            owners = None
            if rf.owners is not None:
                owners = f"own_{n}"
                con.register(owners, rf.owners.collect().to_arrow())
            tables[name] = (f"rel_{n}", owners)
        query = compile_query(policies, catalog=catalog, sets=sets, as_of=as_of,
                              related=tables)
        con.register("profiles", frame.with_row_index(ROW).to_arrow())
        return con.sql(query).pl()
    finally:
        con.close()
