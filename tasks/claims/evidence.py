"""Evidence gathering for the check pipeline: retrieval with sub-queries, then document expansion."""

from __future__ import annotations

import re
from collections.abc import Callable

from tasks.claims.base import Retrieve, safe_retrieve
from tasks.claims.context import analyse_sentence, clause_spans
from tasks.claims.entities import title_subject
from tasks.claims.entities import names_match, names_related
from tasks.records import Chunk, ChunkHit


def gather(text: str, retrieve: Retrieve, k: int, max_subqueries: int = 4) -> tuple[list[ChunkHit], str | None]:
    """Top-k for the whole claim, plus top-k/2 for each clause that carries a number.

    A claim that combines several facts ("cuts experts by half and latency by 38%") can have its facts in
    different chunks of the same paper; one query for the whole claim may miss some.
    """
    hits, error = safe_retrieve(retrieve, text, k)
    queries = [text[a:b].strip() for a, b in clause_spans(text)]
    queries = [q for q in queries if len(q) >= 15 and re.search(r"\d|half|twice", q)][:max_subqueries]
    names = " ".join(e.name for e in analyse_sentence(text).models)
    queries = [q if names and names in q else f"{names} {q}".strip() for q in queries]
    best: dict[str, ChunkHit] = {h.chunk.chunk_id: h for h in hits}
    for q in queries if len(queries) > 1 else []:
        more, _ = safe_retrieve(retrieve, q, max(2, k // 2))
        for h in more:
            best.setdefault(h.chunk.chunk_id, h)
    return sorted(best.values(), key=lambda h: -h.score), error


def expand(text: str, hits: list[ChunkHit], paper_chunks: Callable[[str], list[Chunk]] | None,
           max_named_papers: int = 3) -> list[ChunkHit]:
    """Add the other chunks of papers that are about the claim's subjects (an abstract is one document).

    Papers titled after a claimed name are read even when the embedding missed them: a small encoder knows
    nothing of "dInfer", but the title does.
    """
    if paper_chunks is None:
        return hits
    subjects = [e.name for e in analyse_sentence(text).models]
    if not subjects:
        return hits
    have = {h.chunk.chunk_id for h in hits}
    out = list(hits)
    titles = getattr(paper_chunks, "titles", None) or {}
    named = [pid for pid, title in titles.items()
             if any(names_related(s, t) for s in subjects for t in title_subject(title))][:max_named_papers]
    floor = min(h.score for h in hits)
    for pid in named:
        for chunk in paper_chunks(pid):
            if chunk.chunk_id not in have:
                have.add(chunk.chunk_id)
                out.append(ChunkHit(chunk=chunk, score=floor))
    for hit in hits:
        if not any(names_match(s, t) for s in subjects for t in title_subject(hit.chunk.title)) \
                and not analyse_sentence(hit.chunk.text).mentions(subjects):
            continue
        for chunk in paper_chunks(hit.chunk.arxiv_id):
            if chunk.chunk_id not in have:
                have.add(chunk.chunk_id)
                out.append(ChunkHit(chunk=chunk, score=hit.score))
    return out
