"""The lean long output of a match: what a run keeps, moves between machines and diffs.

One row per (entity, policy) whose outcome is not ``ineligible`` (:data:`LEAN_SCHEMA`):

- ``row``: the entity, by reference: its row in the match's profile frame (``UInt32``); the
  id string is looked up only when a row is written or shown (:func:`decode`);
- ``policy``: an ``Enum`` of the plan's policy ids; version, delivery and period are
  properties of the policy and are added on decoding, not repeated on every row;
- ``outcome``: an ``Enum`` of :data:`matcher.outcomes.OUTCOMES`;
- ``amount_fen``: integer fen (:mod:`store.money`), null = UNKNOWN;
- ``unknown``: the fields whose UNKNOWN left an undetermined policy undetermined, as a bit
  mask (0 elsewhere) over the fields *that policy* reads (:attr:`PolicyFacts.mask_fields`),
  not over the catalog: the catalog may hold any number of fields, and one ``UInt64`` word
  serves every policy that reads at most 64 of them. A plan with a wider policy gets
  further words, ``unknown_1``, ``unknown_2``... (:func:`mask_columns`). :func:`decode` turns
  each distinct (policy, mask) into its list of names once.

At 100 policies that is 22 bytes per listed pair instead of the strings and lists of the
decoded frame. The population is turned from wide (one truth column per policy) to long by
one streaming query of every policy's truth, whose value and validity bitmaps give each
policy's listed rows and states directly (:func:`listed_pairs`), not by a loop over the
population per policy; amounts are then computed on the listed rows alone, and masks on the
rows where each field is null (:func:`matcher.evaluate.pair_values`).

>>> import datetime as dt
>>> import polars as pl
>>> from matcher.evaluate import make_plan, match_lean
>>> from profiles.derive import derive
>>> from profiles.ingest import complete
>>> from rules.loader import bundled_library
>>> lib = bundled_library()
>>> people = pl.DataFrame({
...     "id_number": ["110105193001010013"], "birth_date": [dt.date(1930, 1, 1)],
...     "hukou_district": ["110105"], "alive": [True],
... })
>>> frame = derive(complete(people, entity="person"), entity="person",
...                as_of=dt.date(2025, 10, 1)).collect()
>>> two = [lib["bj-elderly-allowance"], lib["iit-infant-care-deduction"]]
>>> plan = make_plan(two, entity="person", as_of=dt.date(2025, 10, 1), sets=lib.sets)
>>> lean = match_lean(frame, plan)
>>> lean.frame.select("row", "outcome", "amount_fen").rows()
[(0, 'eligible', 50000), (0, 'undetermined', None)]
>>> decode(lean).select("entity_id", "policy_id", "unknown_fields").rows()[1]
('110105193001010013', 'iit-infant-care-deduction', ['children_under_3'])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
import pyarrow as pa

from matcher.outcomes import OUTCOME_SCHEMA, OUTCOMES

if TYPE_CHECKING:
    from matcher.evaluate import Plan

OUTCOME_ENUM = pl.Enum(list(OUTCOMES))
PERIOD_ENUM = pl.Enum(["once", "month", "year"])
DELIVERY_ENUM = pl.Enum(["direct", "notice", "apply"])
ELIGIBLE, UNDETERMINED = OUTCOMES.index("eligible"), OUTCOMES.index("undetermined")
MASK_BITS = 64  # bits of one unknown-field mask word
BATCH_ROWS = 65_536  # rows turned from wide to long at a time: bounds the wide intermediate


def enum_from_codes(codes: np.ndarray, dtype: pl.Enum, *, name: str = "") -> pl.Series:
    """An ``Enum`` series from its physical codes (positions in ``dtype``'s categories)."""
    series = pl.Series(name, codes)
    try:
        return series.cast(dtype)
    except pl.exceptions.ComputeError:  # polars 2 casts codes through the cat namespace
        return series.cat.to(dtype)


def mask_columns(words: int) -> list[str]:
    """The columns of an unknown-field mask of ``words`` 64-bit words.

    >>> mask_columns(1), mask_columns(3)
    (['unknown'], ['unknown', 'unknown_1', 'unknown_2'])
    """
    return ["unknown", *(f"unknown_{w}" for w in range(1, words))]


def mask_words(mask_fields: Mapping[str, Sequence[str]]) -> int:
    """64-bit words per row of a mask over each policy's own fields: enough for the policy
    that reads the most (one for every policy of the bundled library).

    >>> mask_words({"a": ("x",) * 64, "b": ("y",) * 3}), mask_words({"a": ("x",) * 65})
    (1, 2)
    """
    widest = max((len(f) for f in mask_fields.values()), default=0)
    return max(1, -(-widest // MASK_BITS))


def lean_schema(policy_ids: list[str], *, words: int = 1) -> dict[str, pl.DataType]:
    return {
        "row": pl.UInt32(),
        "policy": pl.Enum(policy_ids),
        "outcome": OUTCOME_ENUM,
        "amount_fen": pl.Int64(),
        **{name: pl.UInt64() for name in mask_columns(words)},
    }


@dataclass(frozen=True)
class PolicyFacts:
    """What decoding needs of each policy: version, period and delivery, by policy id."""

    version: Mapping[str, str]
    period: Mapping[str, str | None]
    delivery: Mapping[str, str]
    #: per policy, the fields its unknown-field mask names, in bit order (catalog order)
    mask_fields: Mapping[str, tuple[str, ...]]

    @property
    def ids(self) -> list[str]:
        return sorted(self.version)

    @property
    def words(self) -> int:
        """64-bit words per row of the unknown-field mask."""
        return mask_words(self.mask_fields)


@dataclass(frozen=True)
class LeanOutcomes:
    """A match's lean long frame (:func:`lean_schema`) and the entity ids it refers to."""

    frame: pl.DataFrame
    ids: pl.Series  # entity id (String) of each profile row
    facts: PolicyFacts

    @property
    def height(self) -> int:
        return self.frame.height


def facts_of(plan: Plan) -> PolicyFacts:
    policies = {pid: cp.policy for pid, cp in plan.compiled.items()}
    return PolicyFacts(
        version={pid: p.version for pid, p in policies.items()},
        period={pid: (p.amount.period if p.amount else None) for pid, p in policies.items()},
        delivery={pid: p.delivery for pid, p in policies.items()},
        mask_fields=plan.mask_fields,
    )


def truth_exprs(plan: Plan) -> list[pl.Expr]:
    """Per policy, its truth (``Boolean``, null = UNKNOWN), in plan order. Amounts are not
    part of it: they are computed only on the listed rows
    (:func:`matcher.evaluate.pair_values`)."""
    return [cp.truth.cast(pl.Boolean).alias(f"t{n}")
            for n, cp in enumerate(plan.compiled.values())]


def listed_bits(truth: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """The rows (ascending, ``int64``) where ``truth`` is TRUE or UNKNOWN, and their state
    (``uint8``: 1 eligible, 2 undetermined), read from the column's value and validity
    bitmaps: no state column is built.

    >>> rows, state = listed_bits(pl.Series([True, None, False, True, None]))
    >>> rows.tolist(), state.tolist()
    ([0, 1, 3, 4], [1, 2, 1, 2])
    """
    arr = truth.to_arrow()
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    validity, values = arr.buffers()[:2]
    n, off = len(arr), arr.offset
    size = (off + n + 7) // 8
    if values is None or n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint8)
    bits = np.frombuffer(values, dtype=np.uint8, count=size)
    if validity is None or arr.null_count == 0:
        rows = np.flatnonzero(np.unpackbits(bits, bitorder="little")[off:off + n].view(bool))
        return rows, np.ones(rows.shape[0], dtype=np.uint8)
    unknown = ~np.frombuffer(validity, dtype=np.uint8, count=size)
    listed = np.unpackbits(bits & ~unknown | unknown, bitorder="little")[off:off + n]
    rows = np.flatnonzero(listed.view(bool))  # on a bool array: several times faster
    state = np.unpackbits(unknown, bitorder="little")[off:off + n][rows]
    state += 1
    return rows, state


def listed_pairs(base: pl.DataFrame, plan: Plan, *, batch_rows: int = BATCH_ROWS
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(policy index, row, state) of every listed pair, ordered by policy index then row.

    The truths of every policy are one query, planned once and run by the streaming engine
    in batches of about ``batch_rows`` rows; each batch's truth columns become pairs by
    reading their bitmaps (:func:`listed_bits`: no state column, no wide matrix), and each
    policy's pieces are joined in order at the end: no global sort, no loop over the
    population per policy."""
    truths = truth_exprs(plan)
    npol = len(truths)
    pol_dtype = np.uint8 if npol <= 256 else np.uint16 if npol <= 65_536 else np.uint32
    rows: list[list[np.ndarray]] = [[] for _ in range(npol)]
    states: list[list[np.ndarray]] = [[] for _ in range(npol)]
    start = 0
    batches: Iterable[pl.DataFrame] = (
        base.lazy().select(*truths).collect_batches(chunk_size=batch_rows) if npol else ())
    for wide in batches:
        for n, column in enumerate(wide.get_columns()):
            r, k = listed_bits(column)
            rows[n].append((r + start).astype(np.uint32))
            states[n].append(k)
        start += wide.height
        del wide
    counts = np.array([sum(p.shape[0] for p in ps) for ps in rows], dtype=np.int64)
    pol = np.repeat(np.arange(npol, dtype=pol_dtype), counts)
    row = np.concatenate([p for ps in rows for p in ps]) if npol and start else \
        np.zeros(0, dtype=np.uint32)
    del rows
    kind = np.concatenate([p for ps in states for p in ps]) if npol and start else \
        np.zeros(0, dtype=np.uint8)
    return pol, row, kind


def mask_names(words: Sequence[int], fields: Sequence[str]) -> list[str]:
    """The names of the fields set in a mask (``words``, lowest first) over ``fields``.

    >>> mask_names([0b101, 0b1], [f"f{i}" for i in range(70)])
    ['f0', 'f2', 'f64']
    """
    return [name for i, name in enumerate(fields)
            if words[i // MASK_BITS] >> (i % MASK_BITS) & 1]


def decode_masks(frame: pl.DataFrame, facts: PolicyFacts) -> pl.DataFrame:
    """A table from each distinct non-zero (policy, mask words) of ``frame`` to its list of
    field names (catalog order); join it on ``policy`` and the mask columns."""
    cols = mask_columns(facts.words)
    distinct = frame.select("policy", *cols).filter(
        pl.any_horizontal(pl.col(c) != 0 for c in cols)).unique()
    names = [mask_names(words, facts.mask_fields[str(pid)])
             for pid, *words in distinct.iter_rows()]
    return distinct.with_columns(
        pl.Series("unknown_fields", names, dtype=pl.List(pl.String)))


def decode(lean: LeanOutcomes, frame: pl.DataFrame | None = None) -> pl.DataFrame:
    """The decoded long frame (:data:`matcher.outcomes.OUTCOME_SCHEMA`) of ``lean`` (or of
    ``frame``, a slice of its rows): entity ids looked up, the policy's version, period and
    delivery added, each distinct (policy, unknown mask) turned into its field names once."""
    f = lean.frame if frame is None else frame
    facts = lean.facts
    ids = facts.ids
    policy = pl.col("policy").cast(pl.String)
    masks = decode_masks(f, facts)
    out = (
        f.with_columns(lean.ids.gather(f["row"]).alias("entity_id"))
        .join(masks, on=["policy", *mask_columns(facts.words)], how="left",
              maintain_order="left")
        .select(
            "entity_id",
            policy.alias("policy_id"),
            policy.replace_strict({i: facts.version[i] for i in ids},
                                  return_dtype=pl.String).alias("policy_version"),
            pl.col("outcome").cast(pl.String),
            "amount_fen",
            policy.replace_strict({i: facts.period[i] for i in ids},
                                  return_dtype=pl.String).alias("amount_period"),
            policy.replace_strict({i: facts.delivery[i] for i in ids},
                                  return_dtype=pl.String).alias("delivery"),
            pl.col("unknown_fields").fill_null(pl.lit([], dtype=pl.List(pl.String))),
        )
    )
    return out.cast(OUTCOME_SCHEMA)  # type: ignore[arg-type]


def counts(lean_frame: pl.DataFrame) -> dict[str, dict[str, int]]:
    """Outcome counts per policy, ``{policy_id: {outcome: n}}``."""
    grouped = lean_frame.group_by("policy", "outcome").len()
    out: dict[str, dict[str, int]] = {}
    for pid, outcome, n in grouped.sort("policy", "outcome").iter_rows():
        out.setdefault(str(pid), {})[str(outcome)] = int(n)
    return out


def merge_counts(parts: list[dict[str, dict[str, int]]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for part in parts:
        for pid, by in part.items():
            mine = out.setdefault(pid, {})
            for k, n in by.items():
                mine[k] = mine.get(k, 0) + n
    return {pid: dict(sorted(v.items())) for pid, v in sorted(out.items())}


