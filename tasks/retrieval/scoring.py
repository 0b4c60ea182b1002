"""Relevance signals fitted on the retrieved set: BM25 against every query, and embedding similarity.

Each signal is turned into within-set standard scores, so no absolute threshold carries the meaning of
one question to another; the cut between on- and off-topic is placed where the score distribution of
THIS retrieved set splits best into two groups (Otsu's criterion).
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from tasks.retrieval.snapshot import tokenize


def bm25_matrix(queries: list[str], docs: list[str], k1: float = 1.5, b: float = 0.75) -> np.ndarray:
    """BM25 of every (query, doc) pair with IDF from ``docs`` themselves; shape (queries, docs)."""
    doc_tokens = [tokenize(d) for d in docs]
    n = max(len(docs), 1)
    avg = sum(map(len, doc_tokens)) / n or 1.0
    df = Counter(t for toks in doc_tokens for t in set(toks))
    tfs = [Counter(toks) for toks in doc_tokens]
    out = np.zeros((len(queries), len(docs)))
    for qi, query in enumerate(queries):
        terms = set(tokenize(query))
        for di, (tf, toks) in enumerate(zip(tfs, doc_tokens)):
            norm = k1 * (1 - b + b * len(toks) / avg)
            out[qi, di] = sum(math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) * tf[t] * (k1 + 1) / (tf[t] + norm)
                              for t in terms if t in tf)
    return out


def standardise(values: np.ndarray) -> np.ndarray:
    """Robust standard scores within the set: (x - median) / (1.4826 MAD), falling back to the std."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return values
    centre = np.median(values)
    spread = 1.4826 * np.median(np.abs(values - centre)) or values.std() or 1.0
    return (values - centre) / spread


def query_profile(matrix: np.ndarray) -> np.ndarray:
    """Per doc: the mean over queries of the score scaled by that query's best score (each facet counts once)."""
    if matrix.size == 0:
        return np.zeros(matrix.shape[1] if matrix.ndim == 2 else 0)
    best = matrix.max(axis=1, keepdims=True)
    return (matrix / np.where(best > 0, best, 1.0)).mean(axis=0)


def otsu_cut(scores: np.ndarray) -> float:
    """The threshold that maximises the between-group variance of ``scores`` (two groups, no parameters)."""
    values = np.sort(np.asarray(scores, dtype=float))
    if values.size < 3:
        return float(values.min()) if values.size else 0.0
    best, cut = -1.0, values[0]
    for i in range(1, values.size):
        lo, hi = values[:i], values[i:]
        between = lo.size * hi.size * (lo.mean() - hi.mean()) ** 2
        if between > best:
            best, cut = between, (values[i - 1] + values[i]) / 2
    return float(cut)
