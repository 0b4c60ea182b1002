import json

import numpy as np
import pytest

from flows.config import load_settings
from tasks.index.chunking import chunk_paper
from tasks.index.faiss_store import IndexStore, build_index, load_or_none
from tasks.records import Paper, Query
from tasks.retrieval.merge import merge_dedupe
from tasks.retrieval.queries import expand_queries
from tasks.retrieval.relevance import tfidf_cosine, tfidf_filter
from tasks.retrieval.snapshot import SnapshotScan, iter_papers, search_snapshot
from tests.conftest import SNAPSHOT

DISTRACTORS = {"2303.04137", "2012.05810", "2106.02034", "2210.09461", "2006.11239", "2106.05974", "2503.14487", "2212.09748", "2605.20678", "2512.01252"}


def test_query_expansion_is_deterministic_and_distinct():
    settings, _ = load_settings([])
    first, second = expand_queries(settings.question), expand_queries(settings.question)
    assert [q.text for q in first] == [q.text for q in second]
    assert len(first) >= 4
    assert len({q.text for q in first}) == len(first)
    assert any("expert explosion" in q.text for q in first)
    assert any("Llama-2-70B" in q.text for q in first)


def _line(**over):
    record = {"id": "2401.00001", "title": "A  title", "abstract": "An abstract about MoE.", "authors": "A. B",
              "versions": [{"version": "v1", "created": "Mon, 1 Jan 2024 00:00:00 GMT"}, {"version": "v3", "created": "Tue, 2 Jan 2024 00:00:00 GMT"}],
              "update_date": "2024-01-02", "categories": "cs.LG cs.AI", "authors_parsed": [["B", "A.", ""]]}
    record.update(over)
    return json.dumps(record)


def test_snapshot_parsing_counts_and_skips_malformed_lines(tmp_path):
    path = tmp_path / "snap.jsonl"
    path.write_text("\n".join([_line(), "{not json", json.dumps({"id": "x"}), "", _line(id="2401.00002", title="Other")]) + "\n")
    scan = SnapshotScan(path=str(path))
    papers = [p for p, _ in iter_papers(path, scan)]
    assert [p.arxiv_id for p in papers] == ["2401.00001", "2401.00002"]
    assert scan.malformed == 2 and scan.records == 2
    assert papers[0].version == 3 and papers[0].title == "A title"
    assert papers[0].published == "2024-01-01" and papers[0].categories == ["cs.LG", "cs.AI"]
    assert papers[0].authors == ["A. B"]


def test_snapshot_bm25_ranks_the_on_topic_paper_first():
    query = Query(text="expert explosion mixture-of-experts diffusion", origin="t")
    ranked, scan = search_snapshot(SNAPSHOT, [query], top_k=5)
    assert scan.records == 72 and scan.malformed == 0
    assert ranked[query.text][0].arxiv_id == "2602.00879"
    scores = [p.search_score for p in ranked[query.text]]
    assert scores == sorted(scores, reverse=True)


def test_missing_snapshot_names_the_config_key(tmp_path):
    with pytest.raises(RuntimeError, match="retrieval.snapshot_path"):
        search_snapshot(tmp_path / "nope.jsonl", [Query(text="moe", origin="t")])


def test_tfidf_threshold_is_inclusive():
    paper = Paper(arxiv_id="2501.00001", title="Expert explosion in MoE", abstract="Unique experts grow with parallel tokens.")
    question = "How does expert explosion scale with parallel tokens?"
    score = round(tfidf_cosine(question, paper.text), 6)
    assert 0 < score < 1
    assert tfidf_filter(question, [paper], threshold=score)[0].kept  # exactly at the threshold: kept
    assert not tfidf_filter(question, [paper], threshold=score + 1e-6)[0].kept


def test_tfidf_filter_drops_every_distractor_and_keeps_the_core_paper():
    settings, _ = load_settings([])
    papers = [p for p, _ in iter_papers(SNAPSHOT, SnapshotScan(path=""))]
    decisions = tfidf_filter(settings.question.text, papers, 0.15)
    kept = {d.paper.arxiv_id for d in decisions if d.kept}
    assert not kept & DISTRACTORS
    assert "2602.00879" in kept  # Dynamic Expert Sharing: the expert-explosion paper


def test_dedupe_keeps_newest_version_and_unions_queries():
    old = Paper(arxiv_id="2501.00001", version=1, title="t", abstract="a", matched_queries=["q1"], search_score=0.9)
    new = Paper(arxiv_id="2501.00001", version=2, title="t2", abstract="a2", matched_queries=["q2"], search_score=0.5)
    other = Paper(arxiv_id="2501.00002", title="u", abstract="b", matched_queries=["q1"])
    merged = merge_dedupe([[old, other], [new]])
    assert [p.arxiv_id for p in merged] == ["2501.00001", "2501.00002"]
    assert merged[0].version == 2 and merged[0].title == "t2"
    assert merged[0].matched_queries == ["q1", "q2"] and merged[0].search_score == 0.9


def test_faiss_round_trip_and_corruption_detection(tmp_path, embedder):
    papers = [Paper(arxiv_id=f"2501.0000{i}", title=f"Paper {i}", abstract=text) for i, text in enumerate(
        ["Experts explode with parallel decoding.", "Llama-2-70B decoding is memory bound on H100.", "Robots learn to walk."])]
    chunks = [c for p in papers for c in chunk_paper(p)]
    card = build_index(chunks, embedder.embed([c.text for c in chunks]), embedder.name, {"chunk_chars": 600}, tmp_path)
    store = IndexStore(tmp_path)
    assert store.card == card and card.vectors == len(chunks) and card.dimension == 384
    hits = store.query("memory-bound decoding of a dense 70B model", embedder, k=2)
    assert hits[0].chunk.arxiv_id == "2501.00001" and hits[0].score >= hits[1].score
    np.testing.assert_allclose(hits[0].score, float(embedder.embed([hits[0].chunk.text])[0] @ embedder.embed(["memory-bound decoding of a dense 70B model"])[0]), atol=1e-5)
    (tmp_path / "index.faiss").write_bytes(b"garbage")
    assert load_or_none(tmp_path) is None


def test_arxiv_ids_that_could_break_html_or_prompts_are_malformed_lines(tmp_path):
    # The id is printed into report.html and the LLM prompts: a quote or tag in it makes the line malformed.
    import json

    from tasks.retrieval.snapshot import SnapshotScan, iter_papers
    good = {"id": "hep-th/9901001", "title": "T", "abstract": "A", "versions": [{"version": "v1"}]}
    bad = {**good, "id": '2501.1"><script>alert(1)</script>'}
    path = tmp_path / "snap.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    scan = SnapshotScan(str(path))
    papers = [p for p, _ in iter_papers(path, scan)]
    assert [p.arxiv_id for p in papers] == ["hep-th/9901001"]
    assert scan.malformed == 1 and "arxiv_id" in scan.malformed_examples[0]
