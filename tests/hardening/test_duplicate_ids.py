"""Row 4: one arXiv id twice in the snapshot, with other metadata, merges deterministically (newest wins)."""

from __future__ import annotations

import json

from tasks.records import Query
from tasks.retrieval.merge import merge_dedupe
from tasks.retrieval.snapshot import search_snapshot
from tests.conftest import SNAPSHOT


def _dup_snapshot(tmp_path, first_date: str, second_date: str):
    line = json.loads(SNAPSHOT.read_text().splitlines()[0])
    older, newer = dict(line, update_date=first_date), dict(line, update_date=second_date, title=line["title"] + " (revised)")
    path = tmp_path / "dup.jsonl"
    path.write_text(json.dumps(older) + "\n" + SNAPSHOT.read_text() + json.dumps(newer) + "\n")
    return path, line


def test_duplicate_id_never_compares_papers_and_newest_wins(tmp_path):
    path, line = _dup_snapshot(tmp_path, "2020-01-01", "2099-01-01")
    query = Query(text=line["title"], origin="test")
    ranked, _ = search_snapshot(path, [query], top_k=25)
    hits = [p for p in ranked[query.text] if p.arxiv_id == line["id"]]
    assert len(hits) == 1 and hits[0].updated == "2099-01-01" and hits[0].title.endswith("(revised)")
    merged = merge_dedupe(list(ranked.values()))
    assert len({p.arxiv_id for p in merged}) == len(merged)


def test_identical_duplicates_are_deterministic(tmp_path):
    path, line = _dup_snapshot(tmp_path, "2099-01-01", "2099-01-01")
    query = Query(text=line["title"], origin="test")
    first, _ = search_snapshot(path, [query], top_k=25)
    again, _ = search_snapshot(path, [query], top_k=25)
    assert [p.model_dump() for p in first[query.text]] == [p.model_dump() for p in again[query.text]]
    assert sum(p.arxiv_id == line["id"] for p in first[query.text]) == 1
