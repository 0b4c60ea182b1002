"""Deterministic query expansion: one research question -> several distinct arXiv queries."""

from __future__ import annotations

from tasks.records import Query
from tasks.settings import QuestionSettings


def expand_queries(question: QuestionSettings, max_queries: int = 8) -> list[Query]:
    """Build search queries from the question's structured parts, most specific first.

    Each query targets one facet: the phenomenon, the models, parallel decoding,
    the hardware metrics, and the dense baseline. The order and text are a pure
    function of the question, so a re-run produces the same queries (and cache keys).
    """
    s = question.structured
    metric_words = " ".join(m.replace("_", " ") for m in s.metrics)
    candidates = [
        Query(text=f"{s.phenomenon} mixture-of-experts diffusion language models", origin="phenomenon"),
        Query(text=f"{' '.join(s.model_names[:2])} mixture-of-experts diffusion LLM", origin="models"),
        Query(text="parallel decoding diffusion language model block tokens per step inference", origin="parallel_tokens"),
        Query(text=f"mixture-of-experts inference {metric_words} {s.hardware_name} GPU", origin="metrics+hardware"),
        Query(text=f"{s.baseline_name} inference latency memory bandwidth roofline", origin="baseline"),
        Query(text="MoE expert offloading serving memory-bound decoding", origin="systems"),
    ]
    seen: set[str] = set()
    queries: list[Query] = []
    for query in candidates:
        key = " ".join(sorted(set(query.text.lower().split())))
        if key not in seen:
            seen.add(key)
            queries.append(query)
    if len(queries) < 4:
        raise ValueError("question.structured yields fewer than 4 distinct queries; add models, metrics or a baseline")
    return queries[:max_queries]
