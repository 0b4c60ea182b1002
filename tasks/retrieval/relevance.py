"""Relevance filter: TF-IDF cosine to the question (the seed's method), then an embedding rerank."""

from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import cosine_similarity

from tasks.records import Paper, RelevanceDecision


def tfidf_cosine(question: str, text: str, ngram_max: int = 2) -> float:
    """The seed's score: a TF-IDF model fitted on the (question, text) pair, cosine of the two rows.

    Fitting per pair makes the score independent of which other papers were
    retrieved, so the 0.15 threshold means the same thing for every corpus size.
    """
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
        decisions.append(
            RelevanceDecision(
                paper=paper.model_copy(update={"relevance": score}),
                kept=kept,
                reason=f"tfidf {score:.3f} {'>=' if kept else '<'} {threshold}",
            )
        )
    return decisions


def semantic_rerank(question_vector: np.ndarray, papers: list[Paper], paper_vectors: np.ndarray) -> list[Paper]:
    """Order kept papers by embedding cosine to the question (vectors are L2-normalised)."""
    if not papers:
        return []
    sims = paper_vectors @ question_vector.reshape(-1)
    ranked = [p.model_copy(update={"semantic": round(float(s), 6)}) for p, s in zip(papers, sims)]
    return sorted(ranked, key=lambda p: (-(p.semantic or 0.0), p.arxiv_id))
