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


def terms(text: str, bigrams: bool = True) -> list[str]:
    """BM25 terms: word tokens (compounds and their parts) plus adjacent word pairs ('diffusion llms'), so
    phrases count beyond their words."""
    words = tokenize(text)
    if not bigrams:
        return words
    return words + [f"{a} {b}" for a, b in zip(words, words[1:])]


def bm25_matrix(queries: list[str], docs: list[str], k1: float = 1.5, b: float = 0.75, bigrams: bool = True) -> np.ndarray:
    """BM25 of every (query, doc) pair with IDF from ``docs`` themselves; shape (queries, docs)."""
    doc_tokens = [terms(d, bigrams) for d in docs]
    n = max(len(docs), 1)
    avg = sum(map(len, doc_tokens)) / n or 1.0
    df = Counter(t for toks in doc_tokens for t in set(toks))
    tfs = [Counter(toks) for toks in doc_tokens]
    out = np.zeros((len(queries), len(docs)))
    for qi, query in enumerate(queries):
        wanted = set(terms(query, bigrams))
        for di, (tf, toks) in enumerate(zip(tfs, doc_tokens)):
            norm = k1 * (1 - b + b * len(toks) / avg)
            out[qi, di] = sum(math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) * tf[t] * (k1 + 1) / (tf[t] + norm)
                              for t in wanted if t in tf)
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


def facet_mean(matrix: np.ndarray) -> np.ndarray:
    """Per doc: the mean over queries (rows) of the within-set standard score for that query."""
    if matrix.size == 0:
        return np.zeros(matrix.shape[1] if matrix.ndim == 2 else 0)
    return np.vstack([standardise(row) for row in matrix]).mean(axis=0)


def neighbour_smooth(scores: np.ndarray, doc_sims: np.ndarray, k: int = 5, weight: float = 0.3) -> np.ndarray:
    """Score regularisation: blend each doc's score with the mean of its ``k`` most similar docs in the set.

    A paper that resembles the question lexically but sits among off-topic neighbours (an image-diffusion MoE
    among image models) is pulled towards them, and vice versa.
    """
    n = len(scores)
    if n <= 1 or k <= 0 or weight <= 0:
        return np.asarray(scores, dtype=float)
    sims = np.array(doc_sims, dtype=float, copy=True)
    np.fill_diagonal(sims, -np.inf)
    nearest = np.argsort(-sims, axis=1, kind="stable")[:, : min(k, n - 1)]
    return (1 - weight) * np.asarray(scores, dtype=float) + weight * np.asarray(scores, dtype=float)[nearest].mean(axis=1)


def otsu_cuts(scores: np.ndarray) -> tuple[float, float]:
    """Two thresholds splitting ``scores`` into three groups with the largest between-group variance (multi-level Otsu)."""
    values = np.sort(np.asarray(scores, dtype=float))
    n = values.size
    if n < 4:
        low = float(values.min()) if n else 0.0
        return low, low
    sums = np.concatenate([[0.0], np.cumsum(values)])
    mean, best, cuts = values.mean(), -1.0, (values[0], values[0])
    for i in range(1, n - 1):
        for j in range(i + 1, n):
            groups = ((i, sums[i]), (j - i, sums[j] - sums[i]), (n - j, sums[n] - sums[j]))
            between = sum(size * (total / size - mean) ** 2 for size, total in groups)
            if between > best:
                best, cuts = between, ((values[i - 1] + values[i]) / 2, (values[j - 1] + values[j]) / 2)
    return float(cuts[0]), float(cuts[1])


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
