"""Retrieval without Prefect: two search rounds (the text's queries, then synonyms and feedback) and a relevance method.

The flow (flows/literature.py) runs the same two rounds with its cached, live-or-snapshot search; the
evaluation command (tasks/retrieval/evaluate.py) runs them here against a snapshot file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tasks.records import Paper, Query, RelevanceDecision
from tasks.retrieval.merge import merge_dedupe
from tasks.retrieval.queries import expand_queries
from tasks.retrieval.relevance import METHODS, TextEmbedder, hybrid_filter, tfidf_filter
from tasks.retrieval.snapshot import search_snapshot
from tasks.settings import QuestionSettings

Search = Callable[[list[Query]], dict[str, list[Paper]]]


def two_round_queries(question: QuestionSettings, max_queries: int, search: Search,
                      extra: list[Query] | None = None) -> tuple[list[Query], dict[str, list[Paper]]]:
    """Round 1 searches the text's own queries; round 2 adds synonym and feedback queries mined from round 1's papers.

    Args:
        extra: queries that only add (e.g. an LLM expansion); searched in round 1, outside the ``max_queries`` cap.
    Returns:
        All queries (round 1 first) and each query's papers.
    """
    extra = [q for q in (extra or []) if q.text not in {x.text for x in expand_queries(question, max_queries)}]
    first = expand_queries(question, max_queries) + extra
    answers = dict(search(first))
    corpus = [p.text for p in merge_dedupe(list(answers.values()))]
    queries = expand_queries(question, max_queries, corpus_texts=corpus)
    queries += [q for q in extra if q.text not in {x.text for x in queries}]
    todo = [q for q in queries if q.text not in answers]
    if todo:
        answers.update(search(todo))
    return queries, answers


def decide(method: str, question: QuestionSettings, queries: list[Query], papers: list[Paper],
           embedder: TextEmbedder | None, threshold: float = 0.15, ngram_max: int = 2, min_keep: int = 3) -> list[RelevanceDecision]:
    """Run relevance ``method`` (conf/relevance) over ``papers``."""
    if method == "tfidf_seed":
        return tfidf_filter(question.text, papers, threshold, ngram_max)
    if method == "hybrid":
        if embedder is None:
            raise ValueError("relevance=hybrid needs an embedder (embedder=minilm works offline)")
        return hybrid_filter(question.text, [q.text for q in queries], papers, embedder, min_keep, question_names(question))
    raise ValueError(f"unknown relevance method {method!r}; allowed values: {', '.join(METHODS)}")


def question_names(question: QuestionSettings) -> list[str]:
    """Named things of the question: from its text, and the structured block's model, baseline and hardware names."""
    from tasks.retrieval.phrases import named_things

    s = question.structured
    extra = [*s.model_names, s.baseline_name, s.hardware_name] if s else []
    return named_things(question.text) + [n for n in extra if n]


def snapshot_search(path: Path, top_k: int) -> Search:
    """A ``Search`` over a Kaggle-format snapshot file (one streamed scan per call)."""
    return lambda queries: search_snapshot(Path(path), queries, top_k)[0]
