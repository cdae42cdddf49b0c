"""A multi-label text classifier for industry-chain tags, following the scikit-learn
estimator contract: ``__init__`` stores its parameters only, ``fit`` returns ``self``,
learned state ends in ``_``, and ``check_is_fitted`` guards prediction.

Features: character n-grams (1-3 by default) of the business scope, TF-IDF weighted with
sublinear term frequency; Chinese needs no word segmentation this way. Per tag: a logistic
regression whose probabilities are calibrated by ``CalibratedClassifierCV`` (Platt sigmoid,
stratified folds). A tag with one class only in the training labels gets that class's
constant probability; a tag with a single minority example is fitted without calibration.

``X`` is a 1-D sequence of strings (None or NaN counts as empty text); ``y`` a binary
indicator matrix (n_samples, n_tags). ``predict_proba`` returns (n_samples, n_tags): the
probability of each tag, as ``OneVsRestClassifier`` does for multi-label targets.

>>> texts = ["集成电路设计；集成电路销售", "餐饮服务", "集成电路芯片设计及服务", "住宿服务"] * 3
>>> y = [[1], [0], [1], [0]] * 3
>>> m = ChainTagger(min_df=1, cv=2).fit(texts, y)
>>> m.n_outputs_
1
>>> p = m.predict_proba(["集成电路制造", "餐饮服务；住宿服务"])[:, 0]
>>> bool(p[0] > p[1])
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted


class ConstantProbability:
    """The model of a tag whose training labels have one class only."""

    def __init__(self, value: float) -> None:
        self.value = value

    def predict_proba(self, features: Any) -> np.ndarray:
        n = features.shape[0]
        return np.column_stack([np.full(n, 1.0 - self.value), np.full(n, self.value)])


def as_texts(X: Any) -> list[str]:
    """``X`` as a list of strings: a 1-D sequence of text; None and NaN become ''.

    >>> as_texts(["a", None, float("nan")])
    ['a', '', '']
    """
    if isinstance(X, str):
        raise ValueError(
            "The 'X' parameter must be a 1-D sequence of business-scope strings. "
            "Got a single string instead."
        )
    arr = np.asarray(X, dtype=object)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(
            "The 'X' parameter must be a 1-D sequence of business-scope strings. "
            f"Got an array of shape {arr.shape} instead."
        )
    out: list[str] = []
    for v in arr:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            out.append("")
        elif isinstance(v, str):
            out.append(v)
        else:
            raise ValueError(
                "The 'X' parameter must hold business-scope strings. "
                f"Got {type(v).__name__} {v!r} instead."
            )
    return out


def as_indicator(y: Any, n_samples: int) -> np.ndarray:
    """``y`` as a (n_samples, n_tags) 0/1 int matrix (a 1-D ``y`` is one tag)."""
    Y = np.asarray(y)
    if Y.ndim == 1:
        Y = Y[:, None]
    if Y.ndim != 2 or Y.shape[0] != n_samples:
        raise ValueError(
            f"The 'y' parameter must be a binary indicator matrix with {n_samples} rows. "
            f"Got shape {Y.shape} instead."
        )
    if not np.isin(Y, (0, 1, True, False)).all():
        raise ValueError("The 'y' parameter must hold 0/1 (or booleans) only. Got other values.")
    return Y.astype(np.int64)


class ChainTagger(ClassifierMixin, BaseEstimator):
    """Char n-gram TF-IDF + calibrated logistic regression, one per tag.

    Parameters: ``ngram_range`` and ``min_df``, ``max_features`` of the TF-IDF vocabulary;
    ``C`` of the logistic regression; ``calibration`` ('sigmoid' or 'isotonic') and ``cv``
    (number of stratified folds, reduced to the minority count of a rare tag);
    ``random_state`` for the fold shuffling.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "ngram_range": [tuple],
        "min_df": [Interval(Integral, 1, None, closed="left")],
        "max_features": [Interval(Integral, 1, None, closed="left"), None],
        "C": [Interval(Real, 0, None, closed="neither")],
        "calibration": [StrOptions({"sigmoid", "isotonic"})],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        ngram_range: tuple[int, int] = (1, 3),
        min_df: int = 2,
        max_features: int | None = 200_000,
        C: float = 4.0,
        calibration: str = "sigmoid",
        cv: int = 3,
        random_state: int | None = 0,
    ) -> None:
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.C = C
        self.calibration = calibration
        self.cv = cv
        self.random_state = random_state

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        tags.classifier_tags.multi_label = True
        return tags

    def _fit_one(self, features: Any, y: np.ndarray) -> Any:
        counts = np.bincount(y, minlength=2)
        if counts.min() == 0:
            return ConstantProbability(float(y[0]))
        linear = LogisticRegression(C=self.C, solver="liblinear", max_iter=1000)
        folds = int(min(self.cv, counts.min()))
        if folds < 2:
            return linear.fit(features, y)
        split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=self.random_state)
        calibrated = CalibratedClassifierCV(linear, method=self.calibration, cv=split)
        return calibrated.fit(features, y)

    def fit(self, X: Iterable[str | None], y: Any, *,
            progress: Callable[[int, int], None] | None = None) -> ChainTagger:
        """Learn the vocabulary and one calibrated classifier per tag; returns ``self``.
        ``progress(done, total)`` is called after each tag's classifier."""
        self._validate_params()
        texts = as_texts(X)
        Y = as_indicator(y, len(texts))
        vectorizer = TfidfVectorizer(
            analyzer="char",
            ngram_range=tuple(self.ngram_range),
            min_df=self.min_df,
            max_features=self.max_features,
            sublinear_tf=True,
            dtype=np.float32,
        )
        features = vectorizer.fit_transform(texts)
        self.vectorizer_ = vectorizer
        estimators = []
        for j in range(Y.shape[1]):
            estimators.append(self._fit_one(features, Y[:, j]))
            if progress is not None:
                progress(j + 1, Y.shape[1])
        self.estimators_ = estimators
        self.n_outputs_ = Y.shape[1]
        self.classes_ = [np.array([0, 1]) for _ in range(Y.shape[1])]
        return self

    def predict_proba(self, X: Iterable[str | None]) -> np.ndarray:
        """(n_samples, n_tags) probabilities; an empty text gets the model's probability of
        the empty string (callers map empty scopes to UNKNOWN themselves)."""
        check_is_fitted(self, "estimators_")
        features = self.vectorizer_.transform(as_texts(X))
        if not self.estimators_:
            return np.zeros((features.shape[0], 0))
        return np.column_stack([est.predict_proba(features)[:, 1] for est in self.estimators_])

    def out_of_fold_proba(self, X: Iterable[str | None], y: Any) -> np.ndarray:
        """(n_samples, n_tags) probabilities of the training rows ``X, y`` (exactly those
        given to ``fit``), each from the calibration fold that held the row out of its
        logistic regression (the fold's sigmoid was fitted on those rows: two parameters).
        For choosing thresholds on all training rows instead of a small validation split.
        A tag fitted without calibration folds gets in-sample probabilities."""
        check_is_fitted(self, "estimators_")
        features = self.vectorizer_.transform(as_texts(X))
        Y = as_indicator(y, features.shape[0])
        out = np.empty((features.shape[0], len(self.estimators_)))
        for j, est in enumerate(self.estimators_):
            if not isinstance(est, CalibratedClassifierCV):
                out[:, j] = est.predict_proba(features)[:, 1]
                continue
            folds = est.cv.split(features, Y[:, j])
            for fold, (_, held_out) in zip(est.calibrated_classifiers_, folds, strict=True):
                out[held_out, j] = fold.predict_proba(features[held_out])[:, 1]
        return out

    def predict(self, X: Iterable[str | None]) -> np.ndarray:
        """(n_samples, n_tags) 0/1 at probability 0.5 (two-valued; see ``thresholds`` for the
        three-valued mapping used in profiles)."""
        return (self.predict_proba(X) >= 0.5).astype(np.int64)
