"""Relevance: which retrieved papers an expert would cite for the question.

Two methods, chosen with ``relevance=<name>`` (conf/relevance):
- ``hybrid`` (default): BM25 fitted on the retrieved set against every expanded query, plus MiniLM (or NIM)
  embedding similarity to the question and the queries; both standardised within the set, averaged, and cut
  where the set's score distribution splits into two groups (Otsu). No absolute threshold.
- ``tfidf_seed``: the seed's TF-IDF cosine (uni+bigrams) to the question, kept at or above a fixed threshold.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import cosine_similarity

from tasks.records import Paper, RelevanceDecision
from tasks.retrieval.scoring import bm25_matrix, otsu_cut, query_profile, standardise

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


def hybrid_scores(question: str, queries: list[str], papers: list[Paper], embedder: TextEmbedder) -> dict[str, np.ndarray]:
    """Every signal of the hybrid method, one value per paper (raw and standardised) and the combined score."""
    docs = [p.text for p in papers]
    asked = [question] + [q for q in queries if q != question]
    lexical = query_profile(bm25_matrix(asked, docs))
    doc_vectors = embedder.embed(docs)
    query_vectors = embedder.embed(asked)
    sims = query_vectors @ doc_vectors.T
    semantic = 0.5 * (sims[0] + sims.max(axis=0))
    z_lex, z_sem = standardise(lexical), standardise(semantic)
    return {"bm25": lexical, "embedding": semantic, "z_bm25": z_lex, "z_embedding": z_sem, "combined": (z_lex + z_sem) / 2}


def hybrid_filter(question: str, queries: list[str], papers: list[Paper], embedder: TextEmbedder,
                  min_keep: int = 3) -> list[RelevanceDecision]:
    """Keep the upper group of the combined score (Otsu cut within this retrieved set; at least ``min_keep``)."""
    if not papers:
        return []
    signals = hybrid_scores(question, queries, papers, embedder)
    combined = signals["combined"]
    cut = otsu_cut(combined)
    floor = np.sort(combined)[::-1][min(min_keep, len(papers)) - 1]
    cut = min(cut, float(floor))
    decisions = []
    for i, paper in enumerate(papers):
        score = round(float(combined[i]), 6)
        kept = score >= cut
        scores = {name: round(float(values[i]), 6) for name, values in signals.items()}
        decisions.append(RelevanceDecision(
            paper=paper.model_copy(update={"relevance": score, "semantic": scores["embedding"]}), kept=kept,
            method="hybrid", scores=scores | {"cut": round(cut, 6)},
            reason=f"hybrid {score:.3f} {'>=' if kept else '<'} cut {cut:.3f} (two-group split of this set)",
        ))
    return decisions


def semantic_rerank(question_vector: np.ndarray, papers: list[Paper], paper_vectors: np.ndarray) -> list[Paper]:
    """Order kept papers by embedding cosine to the question (vectors are L2-normalised)."""
    if not papers:
        return []
    sims = paper_vectors @ question_vector.reshape(-1)
    ranked = [p.model_copy(update={"semantic": round(float(s), 6)}) for p, s in zip(papers, sims)]
    return sorted(ranked, key=lambda p: (-(p.semantic or 0.0), p.arxiv_id))
