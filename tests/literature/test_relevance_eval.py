"""The relevance evaluation command and the hybrid method's behaviour on labelled questions."""

import json
import zlib
from pathlib import Path

import numpy as np
import pytest

from tasks.retrieval.evaluate import Row, evaluate, format_table, main, question_for
from tasks.retrieval.relevance import hybrid_filter
from tasks.retrieval.scoring import otsu_cuts
from tasks.retrieval.snapshot import paper_from_record
from tests.conftest import ROOT

OWN = ROOT / "tests" / "literature" / "data" / "relevance-own.jsonl"
DEV = ROOT.parent / "shared" / "corpus" / "relevance-dev.jsonl"


class HashingEmbedder:
    """A deterministic bag-of-words embedder (no model): enough to exercise the hybrid method's plumbing."""

    def embed(self, texts):
        out = np.zeros((len(texts), 256), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                out[i, zlib.crc32(word.strip(".,?").encode()) % 256] += 1
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def _record(pid, title, abstract):
    return {"id": pid, "title": title, "abstract": abstract, "authors": "A. B", "versions": [{"version": "v1", "created": "Mon, 1 Jan 2024 00:00:00 GMT"}]}


ON = [("2401.0000%d" % i, f"KV cache for diffusion language models {i}", "We cache keys and values of diffusion language models "
       f"to raise decoding throughput against autoregressive models, variant {i}.") for i in range(1, 6)]
OFF = [("2402.0000%d" % i, f"Legged robot locomotion with diffusion policies {i}", "A gating network blends robot skills for "
        f"walking on rough terrain; the policy models are trained on motion capture {i}.") for i in range(1, 6)]


@pytest.fixture
def tiny(tmp_path):
    snap = tmp_path / "snap.jsonl"
    snap.write_text("".join(json.dumps(_record(*p)) + "\n" for p in ON + OFF))
    labels = tmp_path / "labels.jsonl"
    labels.write_text(json.dumps({"question_slug": "tiny-kv", "question": "How do KV caches change decoding throughput of diffusion "
                                  "language models?", "must_keep": [p[0] for p in ON], "must_drop": [p[0] for p in OFF]}) + "\n")
    return snap, labels


def test_evaluate_reports_recall_drops_and_kept_per_method(tiny):
    snap, labels = tiny
    rows = evaluate([json.loads(labels.read_text())], ["hybrid", "tfidf_seed"], snap, embedder=HashingEmbedder())
    assert [(r.slug, r.method) for r in rows] == [("tiny-kv", "hybrid"), ("tiny-kv", "tfidf_seed")]
    hybrid = rows[0]
    assert hybrid.recall == (5, 5) and hybrid.dropped_kept == 0 and hybrid.kept == 5
    table = format_table(rows, verbose=True)
    assert "recall must_keep" in table and "5/5 (100%)" in table


def test_cli_prints_one_row_per_question_and_method(tiny, capsys):
    snap, labels = tiny
    assert main(["eval-relevance", str(labels), "--methods", "tfidf_seed", "--snapshot", str(snap)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and out[1].startswith("tiny-kv") and "tfidf_seed" in out[1]


def test_cli_names_the_problem_with_a_bad_file(tmp_path, capsys):
    assert main(["eval-relevance", str(tmp_path / "missing.jsonl")]) == 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    assert main(["eval-relevance", str(bad), "--methods", "tfidf_seed"]) == 2
    assert "not JSON lines" in capsys.readouterr().err


def test_question_text_comes_from_the_conf_file_or_the_line():
    flagship = question_for({"question_slug": "expert-explosion"})
    assert "expert explosion" in flagship.text and flagship.structured is not None
    own = question_for({"question_slug": "new-q", "question": "What limits MoE inference on one GPU?"})
    assert own.text.startswith("What limits") and own.structured is None
    with pytest.raises(ValueError, match="no 'question' text"):
        question_for({"question_slug": "nothing-here"})


def test_hybrid_keeps_a_title_naming_the_questions_model_and_records_scores():
    papers = [paper_from_record(_record(*p)) for p in ON + OFF] + [
        paper_from_record(_record("2307.09288", "Llama 2: Open Foundation and Fine-Tuned Chat Models", "Chat models from 7B to 70B."))]
    decisions = hybrid_filter("Does a KV cache help diffusion language models against a dense Llama-2-70B?", [], papers,
                              HashingEmbedder(), names=["Llama-2-70B"])
    by_id = {d.paper.arxiv_id: d for d in decisions}
    assert by_id["2307.09288"].kept and "llama2" in by_id["2307.09288"].reason
    assert all(not by_id[p[0]].kept for p in OFF)
    assert {"bm25", "embedding", "combined", "cut"} <= set(by_id["2401.00001"].scores)
    assert all(d.method == "hybrid" for d in decisions)


def test_three_group_cut_is_scale_free():
    scores = np.array([0.1, 0.15, 0.2, 1.0, 1.1, 1.2, 3.0, 3.2])
    low, high = otsu_cuts(scores)
    assert 0.2 < low < 1.0 < high < 3.0
    assert np.allclose(np.array(otsu_cuts(10 * scores + 5)), 10 * np.array([low, high]) + 5)


@pytest.mark.slow
def test_real_scores_on_the_labelled_questions(embedder):
    lines = [json.loads(x) for x in OWN.read_text().splitlines() if x.strip()]
    lines = [x for x in lines if x["question_slug"] == "dllm-kv-cache"]
    if DEV.is_file():
        lines += [json.loads(x) for x in DEV.read_text().splitlines() if x.strip()]
    rows: list[Row] = evaluate(lines, ["hybrid"], ROOT / "tasks" / "retrieval" / "data" / "arxiv-snapshot.jsonl", embedder=embedder)
    for row in rows:
        assert row.dropped_kept == 0, row
        assert row.recall[0] >= 0.9 * row.recall[1], row
