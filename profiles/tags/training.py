"""Train a chain-tag model from a labelled table, measure it on held-out rows, save it with
its model card, load it back, and apply it to a profile frame.

Labelled table: CSV (UTF-8, BOM allowed) or Parquet with columns ``uscc``,
``business_scope`` and ``tags`` (tag names or Chinese labels joined by ';', '；', ',' or
'、'; empty = no chain). Rows without a business scope are dropped (counted in the card).

Split (seeded): 80 % train the classifier, and their out-of-fold probabilities (from the
calibration folds, ``ChainTagger.out_of_fold_proba``) choose the thresholds of each tag
(``profiles.tags.thresholds``); the other 20 % (test) measure them, and the card reports
the test figures. The version is ``tags-`` + the first 12 hex digits of the sha256 of the
labelled rows, the parameters, the seed, the threshold targets, the training scheme and
the scikit-learn version: the same data and settings give the same version (and model).

Files: ``MODEL`` (a joblib pickle of :class:`TagModel`; load only files you trust, as with
any pickle) and ``MODEL.card.json``::

    {"version", "model", "params", "seed", "threshold_rule", "training": {...},
     "tags": {tag: {"label", "precision", "recall", "missed", "npv", "unknown_share",
                    "true_share", "threshold_low", "threshold_high", "test_rows",
                    "test_positives"}}}
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import polars as pl
import sklearn

from profiles.tags.errors import LabelsError, TagError, TagModelEntityError, TagModelFileError
from profiles.tags.model import ChainTagger
from profiles.tags.thresholds import Thresholds, choose_thresholds, measure, three_valued
from profiles.tags.vocabulary import load_chains

CARD_SUFFIX = ".card.json"
TEST_SHARE = 0.2  # held out for the card; the rest trains and chooses thresholds
SCHEME = "train 80% / out-of-fold thresholds / test 20%"
"""The training procedure; part of the version, so a changed procedure changes it."""
_SEPARATORS = re.compile(r"[;；,，、]")


@dataclass(frozen=True, kw_only=True)
class Labelled:
    """A labelled table: texts and a (n, n_tags) 0/1 matrix, in file order."""

    texts: list[str]
    y: np.ndarray
    tags: tuple[str, ...]
    dropped_without_scope: int = 0


def parse_labels(frame: pl.DataFrame, *, source: str = "labels") -> Labelled:
    """The labelled rows of ``frame`` (columns business_scope, tags)."""
    chains = load_chains()
    for col in ("business_scope", "tags"):
        if col not in frame.columns:
            raise LabelsError(
                source, f"缺少列 {col}", expected="含 uscc, business_scope, tags 三列"
            )
    tags = chains.names
    texts: list[str] = []
    rows: list[list[int]] = []
    dropped = 0
    for i, (scope, raw) in enumerate(
        zip(frame["business_scope"].to_list(), frame["tags"].to_list(), strict=True), start=1
    ):
        if scope is None or not str(scope).strip():
            dropped += 1
            continue
        row = [0] * len(tags)
        for name in (s.strip() for s in _SEPARATORS.split(str(raw or ""))):
            if not name:
                continue
            try:
                row[tags.index(chains.tag(name).name)] = 1
            except TagError:
                raise LabelsError(
                    source, f"未知标签 {name!r}", expected=f"{', '.join(tags)} 或其中文名", row=i
                ) from None
        texts.append(str(scope))
        rows.append(row)
    y = np.array(rows, dtype=np.int64).reshape(len(rows), len(tags))
    return Labelled(texts=texts, y=y, tags=tags, dropped_without_scope=dropped)


def read_labels(path: Path) -> Labelled:
    """Read a labelled table file (CSV or Parquet)."""
    if not path.exists():
        raise LabelsError(str(path), "文件不存在", expected="CSV 或 Parquet 标注表")
    if path.suffix.lower() == ".parquet":
        frame = pl.read_parquet(path)
    else:
        frame = pl.read_csv(path.read_bytes().removeprefix(b"\xef\xbb\xbf"), infer_schema=False)
    return parse_labels(frame, source=path.name)


@dataclass(kw_only=True)
class TagModel:
    """A fitted tagger with its per-tag thresholds, version and card."""

    version: str
    tags: tuple[str, ...]
    estimator: ChainTagger
    thresholds: dict[str, Thresholds]
    card: dict[str, Any] = field(default_factory=dict)

    def probabilities(self, scopes: list[str | None]) -> np.ndarray:
        """(n, n_tags) probabilities; NaN where the scope is empty (no evidence at all)."""
        p = self.estimator.predict_proba(scopes).astype(np.float64)
        empty = np.array([s is None or not str(s).strip() for s in scopes], dtype=bool)
        p[empty, :] = np.nan
        return p

    def apply(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` with ``<tag>`` (three-valued Boolean) and ``<tag>_p`` (Float64) columns
        for every tag, replacing columns of those names; an empty scope gives nulls."""
        scopes = (
            frame["business_scope"].to_list()
            if "business_scope" in frame.columns
            else [None] * frame.height
        )
        p = self.probabilities(scopes) if frame.height else np.zeros((0, len(self.tags)))
        chains = load_chains()
        columns: list[pl.Series] = []
        for j, name in enumerate(self.tags):
            values = three_valued(p[:, j], self.thresholds[name])
            columns.append(pl.Series(name, values, dtype=pl.Boolean))
            prob = pl.Series(chains.tag(name).probability_column, p[:, j], dtype=pl.Float64)
            columns.append(prob.fill_nan(None))
        return frame.with_columns(columns)

    def unknown_shares(self, frame: pl.DataFrame) -> dict[str, float]:
        """Per tag, the share of rows of an applied ``frame`` left UNKNOWN."""
        n = frame.height
        return {t: (frame[t].null_count() / n if n else 0.0) for t in self.tags}

    def save(self, path: Path) -> Path:
        """Write the model to ``path`` and its card beside it; returns the card's path."""
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(self, path, compress=3)
        card = card_path(path)
        card.write_text(json.dumps(self.card, ensure_ascii=False, indent=2) + "\n", "utf-8")
        return card


def card_path(model: Path) -> Path:
    return model.with_name(model.name + CARD_SUFFIX)


def load_tag_model(path: Path) -> TagModel:
    """Load a model saved by :meth:`TagModel.save` and check it against its card."""
    card = card_path(path)
    if not path.exists():
        raise TagModelFileError(path, "文件不存在")
    if not card.exists():
        raise TagModelFileError(path, f"缺少模型卡 {card.name}")
    try:
        model = joblib.load(path)
    except Exception as exc:  # any unpickling failure: the file is not a model
        raise TagModelFileError(path, f"无法读取 ({type(exc).__name__})") from None
    if not isinstance(model, TagModel):
        raise TagModelFileError(path, f"不是标签模型 (读到 {type(model).__name__})")
    version = json.loads(card.read_text("utf-8")).get("version")
    if version != model.version:
        raise TagModelFileError(path, f"模型卡版本 {version} 与模型版本 {model.version} 不一致")
    return model


def _version(
    data: Labelled, params: dict[str, Any], seed: int, targets: tuple[float, float]
) -> str:
    digest = hashlib.sha256()
    for text, row in zip(data.texts, data.y.tolist(), strict=True):
        digest.update(text.encode())
        digest.update(b"\x1f" + bytes(row) + b"\x1e")
    settings = {"params": params, "seed": seed, "targets": targets, "tags": data.tags,
                "scheme": SCHEME, "sklearn": sklearn.__version__}
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return "tags-" + digest.hexdigest()[:12]


def _data_sha256(data: Labelled) -> str:
    digest = hashlib.sha256()
    for text, row in zip(data.texts, data.y.tolist(), strict=True):
        digest.update(text.encode() + b"\x1f" + bytes(row) + b"\x1e")
    return digest.hexdigest()


def _round(v: float | None) -> float | None:
    return None if v is None else round(float(v), 6)


def train_tag_model(
    data: Labelled,
    *,
    seed: int = 0,
    params: dict[str, Any] | None = None,
    target_precision: float | None = None,
    max_missed: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> TagModel:
    """Fit on 80 % of ``data`` and choose thresholds on its out-of-fold probabilities;
    measure on the last 20 %. ``progress(done, total)`` counts the tags fitted."""
    chains = load_chains()
    tp = chains.target_precision if target_precision is None else target_precision
    tm = chains.max_missed if max_missed is None else max_missed
    n = len(data.texts)
    if n < 10:
        raise LabelsError("labels", f"只有 {n} 行有经营范围", expected="至少 10 行标注数据")
    order = np.random.default_rng(seed).permutation(n)
    n_train = n - int(n * TEST_SHARE)
    train, test = order[:n_train], order[n_train:]
    texts = np.array(data.texts, dtype=object)
    estimator = ChainTagger(random_state=seed, **(params or {}))
    estimator.fit(texts[train], data.y[train], progress=progress)
    p_oof = estimator.out_of_fold_proba(texts[train], data.y[train])
    p_test = estimator.predict_proba(texts[test])
    thresholds: dict[str, Thresholds] = {}
    per_tag: dict[str, dict[str, Any]] = {}
    for j, name in enumerate(data.tags):
        t = choose_thresholds(p_oof[:, j], data.y[train, j], target_precision=tp, max_missed=tm)
        m = measure(p_test[:, j], data.y[test, j], t)
        thresholds[name] = t
        per_tag[name] = {
            "label": chains.tag(name).label,
            "precision": _round(m.precision),
            "recall": _round(m.recall),
            "missed": _round(m.missed),
            "npv": _round(m.npv),
            "unknown_share": _round(m.unknown_share),
            "true_share": _round(m.true_share),
            "threshold_low": t.low,
            "threshold_high": t.high,
            "test_rows": m.rows,
            "test_positives": m.positives,
        }
    effective = estimator.get_params()
    version = _version(data, effective, seed, (tp, tm))
    card = {
        "version": version,
        "model": "char n-gram TF-IDF + logistic regression per tag, probabilities "
        f"calibrated ({effective['calibration']}); scikit-learn {sklearn.__version__}",
        "params": {k: list(v) if isinstance(v, tuple) else v for k, v in effective.items()},
        "seed": seed,
        "scheme": SCHEME,
        "threshold_rule": {
            "target_precision": tp,
            "max_missed": tm,
            "chosen_on": "out-of-fold probabilities of the training rows",
            "high": "smallest probability whose TRUE set has precision >= target_precision",
            "low": "largest probability whose FALSE set holds at most max_missed of the "
            "positives",
            "mapping": "p >= high: TRUE; p <= low: FALSE; otherwise (or no scope): UNKNOWN",
        },
        "training": {
            "rows": n,
            "dropped_without_scope": data.dropped_without_scope,
            "train_rows": int(train.size),
            "test_rows": int(test.size),
            "positives": {t: int(data.y[:, j].sum()) for j, t in enumerate(data.tags)},
            "data_sha256": _data_sha256(data),
        },
        "tags": per_tag,
    }
    return TagModel(
        version=version, tags=data.tags, estimator=estimator, thresholds=thresholds, card=card
    )


def require_enterprise(entity: str) -> None:
    if entity != "enterprise":
        raise TagModelEntityError(entity)
