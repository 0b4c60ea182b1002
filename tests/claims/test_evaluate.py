"""The eval command end to end on a tiny snapshot and labelled file (real MiniLM + FAISS)."""

import json

from tasks.claims.evaluate import main, scores
from tests.claims.conftest import TINY_PAPERS, write_snapshot


def test_eval_claims_on_a_tiny_labelled_file(tmp_path, capsys, minilm):
    snapshot = tmp_path / "snap.jsonl"
    write_snapshot(snapshot, TINY_PAPERS)
    labelled = tmp_path / "claims.jsonl"
    rows = [
        ("ToyMoE has 12B total parameters and activates 3B per token.", "SUPPORTED"),
        ("SparseServe accelerates decoding of Mixtral 8x7B by 5.86×.", "CONTRADICTED"),
        ("ToyMoE reaches 900 tokens per second on an H100.", "NOT_ENOUGH_INFO"),
    ]
    labelled.write_text("".join(json.dumps({"claim": c, "label": l, "evidence_ids": [], "note": ""}) + "\n" for c, l in rows))
    out = tmp_path / "verdicts.jsonl"
    assert main(["eval-claims", str(labelled), "--snapshot", str(snapshot), "--index-dir", str(tmp_path / "idx"),
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "tfidf" in printed and "hybrid" in printed and "confusion matrix" in printed
    verdicts = [json.loads(line) for line in out.read_text().splitlines()]
    hybrid = [v["label"] for v in verdicts if v["verifier"] == "hybrid"]
    assert hybrid == [label for _, label in rows]
    assert "100.0%" in printed  # hybrid accuracy row
    # reusing the index directory works too
    assert main(["eval-claims", str(labelled), "--snapshot", str(snapshot), "--index-dir", str(tmp_path / "idx"),
                 "--verifiers", "hybrid"]) == 0


def test_scores_per_class():
    s = scores(["SUPPORTED", "CONTRADICTED", "NOT_ENOUGH_INFO", "SUPPORTED"],
               ["SUPPORTED", "SUPPORTED", "NOT_ENOUGH_INFO", "SUPPORTED"])
    assert s["accuracy"] == 0.75
    assert s["per_class"]["SUPPORTED"]["precision"] == 2 / 3 and s["per_class"]["CONTRADICTED"]["recall"] == 0.0
