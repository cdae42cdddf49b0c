"""Industry-chain tags inferred from 经营范围 (business scope text).

- ``vocabulary``: the tags (``profiles/data/chains.yaml``); light, no scikit-learn.
- ``model``: :class:`~profiles.tags.model.ChainTagger`, a scikit-learn estimator (char
  n-gram TF-IDF + logistic regression per tag, sigmoid-calibrated probabilities).
- ``thresholds``: per-tag thresholds and the mapping of a probability to three values
  (p >= high -> TRUE, p <= low -> FALSE, otherwise UNKNOWN; no scope -> UNKNOWN).
- ``training``: read a labelled table, train, measure on held-out rows, write the model and
  its card (``MODEL.card.json``); load it and apply it to a snapshot frame.

An inferred tag is evidence, not fact: a doubtful one stays UNKNOWN, so a policy that needs
it gives ``undetermined`` (a pre-filled application), never a push.
"""
