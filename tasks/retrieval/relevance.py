"""Relevance: which retrieved papers an expert would cite for the question.

Two methods, chosen with ``relevance=<name>`` (conf/relevance):
- ``hybrid`` (default): BM25 fitted on the retrieved set against every expanded query, plus MiniLM (or NIM)
  embedding similarity to the question and the queries; both standardised within the set, smoothed over
  nearest neighbours, averaged, and cut where the set's score distribution splits (multi-level Otsu), with
  lexical and semantic agreement required. No absolute threshold.
- ``tfidf_seed``: the seed's TF-IDF cosine (uni+bigrams) to the question, kept at or above a fixed threshold.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import cosine_similarity

from tasks.records import Paper, RelevanceDecision
from tasks.retrieval.phrases import name_keys, named_in_title
from tasks.retrieval.scoring import bm25_matrix, facet_mean, neighbour_smooth, otsu_cuts

METHODS = ("hybrid", "tfidf_seed")


class TextEmbedder(Protocol):
    def embed(self, texts: list[str]) -> np.ndarray: ...


def tfidf_cosine(question: str, text: str, ngram_max: int = 2) -> float:
    """The seed's score: a TF-IDF model fitted on the (question, text) pair, cosine of the two rows."""
    matrix = TfidfVectorizer(ngram_range=(1, ngram_max)).fit_transform([question, text])
    return float(cosine_similarity(matrix[0], matrix[1])[0, 0])


def tfidf_scores(question: str, papers: list[Paper], ngram_max: int = 2) -> np.ndarray:
    """Cosine between the question and each paper's title+abstract, unigrams plus bigrams."""
    return np.array([tfidf_cosine(question, p.text, ngram_max) for p in papers])


def tfidf_filter(question: str, papers: list[Paper], threshold: float = 0.15, ngram_max: int = 2) -> list[RelevanceDecision]:
    """Keep papers whose TF-IDF cosine to the question is at or above ``threshold`` (inclusive)."""
    scores = tfidf_scores(question, papers, ngram_max)
    decisions = []
    for paper, score in zip(papers, scores):
        score = round(float(score), 6)
        kept = score >= threshold
        decisions.append(RelevanceDecision(
            paper=paper.model_copy(update={"relevance": score}), kept=kept, method="tfidf_seed", scores={"tfidf": score},
            reason=f"tfidf {score:.3f} {'>=' if kept else '<'} {threshold}",
        ))
    return decisions


def hybrid_scores(question: str, queries: list[str], papers: list[Paper], embedder: TextEmbedder,
                  neighbours: int = 5, neighbour_weight: float = 0.3) -> dict[str, np.ndarray]:
    """Every signal of the hybrid method, one value per paper.

    bm25: mean over the question and its queries of the within-set standard score of BM25 (words and word pairs,
    IDF from the retrieved set); embedding: the same for embedding cosine; both smoothed over each paper's nearest
    neighbours in the set; combined: their mean.
    """
    docs = [p.text for p in papers]
    asked = [question] + [q for q in queries if q != question]
    doc_vectors = embedder.embed(docs)
    doc_sims = doc_vectors @ doc_vectors.T
    lexical = neighbour_smooth(facet_mean(bm25_matrix(asked, docs)), doc_sims, neighbours, neighbour_weight)
    semantic = neighbour_smooth(facet_mean(embedder.embed(asked) @ doc_vectors.T), doc_sims, neighbours, neighbour_weight)
    return {"bm25": lexical, "embedding": semantic, "combined": (lexical + semantic) / 2}


def hybrid_filter(question: str, queries: list[str], papers: list[Paper], embedder: TextEmbedder,
                  min_keep: int = 3, names: list[str] | None = None, neighbours: int = 5,
                  neighbour_weight: float = 0.3) -> list[RelevanceDecision]:
    """Keep a paper when (a) its combined score clears the lowest of the two three-group Otsu cuts of this set AND both
    signals are above the set's median (lexical and semantic agree), or (b) its title names a versioned model or chip
    the question names (the baseline's own paper); the ``min_keep`` best are always kept.

    Args:
        names: named things of the question (its text and structured block), e.g. ['Llama-2-70B', 'H100-class'].
    """
    if not papers:
        return []
    signals = hybrid_scores(question, queries, papers, embedder, neighbours, neighbour_weight)
    combined, lexical, semantic = signals["combined"], signals["bm25"], signals["embedding"]
    cut = otsu_cuts(combined)[0]
    lex_mid, sem_mid = float(np.median(lexical)), float(np.median(semantic))
    best = set(np.argsort(-combined, kind="stable")[:min_keep].tolist())
    keys = name_keys(names or [])
    decisions = []
    for i, paper in enumerate(papers):
        score = round(float(combined[i]), 6)
        agree = lexical[i] > lex_mid and semantic[i] > sem_mid
        named = named_in_title(paper.title, keys)
        if score >= cut and agree:
            kept, reason = True, f"hybrid {score:.3f} >= cut {cut:.3f}, bm25 and embedding both above the set median"
        elif named:
            kept, reason = True, f"title names {', '.join(named)} from the question"
        elif i in best:
            kept, reason = True, f"hybrid {score:.3f}: among the {min_keep} best of the set"
        else:
            why = f"< cut {cut:.3f}" if score < cut else "but bm25 and embedding disagree (one at or below the set median)"
            kept, reason = False, f"hybrid {score:.3f} {why}"
        scores = {name: round(float(values[i]), 6) for name, values in signals.items()}
        decisions.append(RelevanceDecision(
            paper=paper.model_copy(update={"relevance": score, "semantic": scores["embedding"]}), kept=kept,
            method="hybrid", scores=scores | {"cut": round(cut, 6), "named": float(bool(named))}, reason=reason,
        ))
    return decisions


def semantic_rerank(question_vector: np.ndarray, papers: list[Paper], paper_vectors: np.ndarray) -> list[Paper]:
    """Order kept papers by embedding cosine to the question (vectors are L2-normalised)."""
    if not papers:
        return []
    sims = paper_vectors @ question_vector.reshape(-1)
    ranked = [p.model_copy(update={"semantic": round(float(s), 6)}) for p, s in zip(papers, sims)]
    return sorted(ranked, key=lambda p: (-(p.semantic or 0.0), p.arxiv_id))
