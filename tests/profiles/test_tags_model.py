"""ChainTagger follows the scikit-learn estimator contract.

``check_estimator`` itself skips an estimator whose input is text (its checks feed numeric
2-D arrays), so we run by name the checks that do not need numeric input (API_CHECKS), and
text versions of the data checks: fit returns self, parameters untouched by fit, learned
state ends in '_', idempotent fit, pickling, sample order and subset invariance.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import sklearn.utils.estimator_checks as checks
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from profiles.tags.model import ChainTagger

API_CHECKS = [
    "check_estimator_cloneable",
    "check_estimator_repr",
    "check_estimator_tags_renamed",
    "check_valid_tag_types",
    "check_mixin_order",
    "check_no_attributes_set_in_init",
    "check_parameters_default_constructible",
    "check_get_params_invariance",
    "check_set_params",
    "check_do_not_raise_errors_in_init_or_set_params",
    "check_estimators_unfitted",
    "check_param_validation",
]

IC = ["集成电路设计", "集成电路制造", "半导体分立器件制造", "集成电路芯片设计及服务"]
OTHER = ["餐饮服务", "住宿服务", "服装服饰零售", "道路货物运输（不含危险货物）", "物业管理"]
AI = ["人工智能应用软件开发", "人工智能基础软件开发", "智能机器人的研发"]


def _data(n: int = 60, seed: int = 0) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    texts, y = [], []
    for _ in range(n):
        ic, ai = rng.random() < 0.3, rng.random() < 0.3
        parts = [OTHER[rng.integers(len(OTHER))]]
        if ic:
            parts.append(IC[rng.integers(len(IC))])
        if ai:
            parts.append(AI[rng.integers(len(AI))])
        texts.append("；".join(parts))
        y.append([int(ic), int(ai)])
    return texts, np.array(y)


def _small() -> ChainTagger:
    return ChainTagger(min_df=1, cv=2)


@pytest.mark.parametrize("name", API_CHECKS)
def test_sklearn_api_check_passes(name: str) -> None:
    getattr(checks, name)("ChainTagger", _small())


def test_fit_returns_self_and_leaves_parameters_untouched() -> None:
    texts, y = _data()
    model = _small()
    before = model.get_params()
    assert model.fit(texts, y) is model
    assert model.get_params() == before


def test_learned_state_ends_in_underscore() -> None:
    texts, y = _data()
    unfitted = set(vars(_small()))
    learned = set(vars(_small().fit(texts, y))) - unfitted
    assert learned and all(name.endswith("_") for name in learned)


def test_predict_proba_before_fit_raises_not_fitted() -> None:
    with pytest.raises(NotFittedError):
        _small().predict_proba(["集成电路设计"])


def test_probabilities_separate_the_tags_and_have_one_column_per_tag() -> None:
    texts, y = _data(120)
    probe = ["集成电路设计；餐饮服务", "人工智能应用软件开发", "物业管理"]
    p = _small().fit(texts, y).predict_proba(probe)
    assert p.shape == (3, 2) and ((p >= 0) & (p <= 1)).all()
    assert p[0, 0] > 0.5 > p[2, 0] and p[1, 1] > 0.5 > p[2, 1]


def test_fit_is_idempotent_and_clone_refits_identically() -> None:
    texts, y = _data()
    model = _small().fit(texts, y)
    first = model.predict_proba(texts)
    np.testing.assert_array_equal(model.fit(texts, y).predict_proba(texts), first)
    np.testing.assert_array_equal(clone(model).fit(texts, y).predict_proba(texts), first)


def test_pickled_model_predicts_the_same() -> None:
    texts, y = _data()
    model = _small().fit(texts, y)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict_proba(texts), model.predict_proba(texts))


def test_predictions_are_invariant_to_sample_order_and_subsets() -> None:
    texts, y = _data()
    model = _small().fit(texts, y)
    full = model.predict_proba(texts)
    order = np.random.default_rng(1).permutation(len(texts))
    np.testing.assert_allclose(model.predict_proba([texts[i] for i in order]), full[order])
    np.testing.assert_allclose(model.predict_proba(texts[:7]), full[:7])


def test_a_tag_with_one_class_gets_its_constant_probability() -> None:
    texts, y = _data()
    y = np.column_stack([y[:, 0], np.zeros(len(texts), dtype=int)])
    p = _small().fit(texts, y).predict_proba(texts)
    assert (p[:, 1] == 0.0).all()


def test_empty_and_missing_texts_are_accepted_as_empty() -> None:
    texts, y = _data()
    p = _small().fit(texts, y).predict_proba([None, "", float("nan")])
    assert p.shape == (3, 2) and (p[0] == p[1]).all() and (p[1] == p[2]).all()


@pytest.mark.parametrize(
    ("X", "y", "match"),
    [
        (np.zeros((4, 3)), [[0], [1], [0], [1]], "1-D sequence"),
        ("集成电路设计", [1], "single string"),
        (["a", "b"], [[0], [2]], "0/1"),
        (["a", "b"], [[0]], "2 rows"),
    ],
)
def test_bad_input_is_refused_with_what_was_expected(X: object, y: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _small().fit(X, y)  # type: ignore[arg-type]


def test_out_of_fold_probabilities_score_every_training_row_from_its_held_out_fold() -> None:
    texts, y = _data(90)
    model = _small().fit(texts, y)
    oof = model.out_of_fold_proba(texts, y)
    assert oof.shape == y.shape and np.isfinite(oof).all()
    assert ((oof >= 0) & (oof <= 1)).all()
    assert not np.array_equal(oof, model.predict_proba(texts))  # not the ensemble in-sample
    assert oof[y == 1].mean() > 0.5 > oof[y == 0].mean()
