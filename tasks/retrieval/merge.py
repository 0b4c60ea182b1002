"""Merge per-query results and dedupe papers by arXiv id, keeping the newest version."""

from __future__ import annotations

from tasks.records import Paper


def merge_dedupe(result_lists: list[list[Paper]]) -> list[Paper]:
    """One paper per arXiv id: the newest version wins; query matches and the best score are kept."""
    merged: dict[str, Paper] = {}
    for papers in result_lists:
        for paper in papers:
            seen = merged.get(paper.arxiv_id)
            if seen is None:
                merged[paper.arxiv_id] = paper
                continue
            newest = paper if (paper.version, paper.updated or "") > (seen.version, seen.updated or "") else seen
            merged[paper.arxiv_id] = newest.model_copy(
                update={
                    "matched_queries": sorted(set(seen.matched_queries) | set(paper.matched_queries)),
                    "search_score": max(seen.search_score, paper.search_score),
                }
            )
    return sorted(merged.values(), key=lambda p: (-len(p.matched_queries), -p.search_score, p.arxiv_id))
