"""The learned decision (tasks/claims/decision.py): features from findings, the shipped weights, and the fallback
to the fixed order when the weights or the cross-encoder cannot load."""

import json

import pytest

from tasks.claims import decision
from tasks.claims.decision import CLASSES, Decision, features, load_decision
from tasks.claims.findings import Finding
from tasks.claims.hybrid import HybridVerifier
from tests.claims.conftest import fake_retriever, make_paper

PAPER = make_paper("2510.00701", "Shoveler: Expert Prefetch for Offloaded MoEs",
                   "Shoveler prefetches the experts of the next layer while the current one runs. On one A100 it lowers "
                   "decode latency by 41% for a 47B-parameter MoE and needs no retraining.")


@pytest.fixture(scope="module")
def retrieve():
    return fake_retriever([PAPER])


def test_features_count_findings_per_check_and_cap_them():
    found = [Finding("numbers", "support", "a", "p#0", 0.7), Finding("numbers", "support", "b", "p#0", 0.6),
             Finding("numbers", "support", "c", "p#0", 0.8), Finding("attribution", "contradict", "d", "p#0", 0.5)]
    f = features(found, "CONTRADICTED", (0.2, 0.7, 0.1), 6)
    assert f["numbers:support"] == 2.0 and f["attribution:contradict"] == 1.0
    assert f["rule=CONTRADICTED"] == 1.0 and f["rule=SUPPORTED"] == 0.0
    assert f["p=CONTRADICTED"] == 0.7 and f["max_contradict"] == 0.5 and f["min_support"] == 0.6 and f["n_numbers"] == 4


def test_shipped_weights_load_and_name_their_provenance():
    model = load_decision()
    assert model is not None and model.classes == CLASSES and "p=SUPPORTED" in model.names
    prov = json.loads(decision.WEIGHTS.read_text())["provenance"]
    assert "decision_fit" in prov["command"] and prov["leave_one_file_out"]["learned"] > 0


def test_decision_round_trips_and_rejects_bad_shapes():
    m = Decision(names=("a", "b"), coef=((1.0, 0.0), (0.0, 1.0), (0.0, 0.0)), intercept=(0.0, 0.0, 0.0))
    assert Decision.from_json(json.loads(json.dumps(m.to_json()))) == m
    assert m({"a": 5.0})[0] == "SUPPORTED" and m({"b": 5.0})[0] == "CONTRADICTED"
    with pytest.raises(ValueError):
        Decision.from_json({"names": ["a"], "coef": [[1.0, 2.0]], "intercept": [0.0]})


def test_learned_verdicts_on_an_invented_paper(retrieve):
    v = HybridVerifier(paper_chunks=retrieve.paper_chunks, decision="learned")
    assert v.verify("Shoveler cuts decode latency by 41% on an A100 without retraining.", retrieve).label == "SUPPORTED"
    assert v.verify("Shoveler cuts decode latency by 14% on an A100.", retrieve).label == "CONTRADICTED"


def test_missing_weights_fall_back_to_the_fixed_order(retrieve, tmp_path, monkeypatch, caplog):
    broken = tmp_path / "decision.json"
    broken.write_text("{not json")
    assert load_decision(broken) is None and "Refit with" in caplog.text
    monkeypatch.setattr("tasks.claims.hybrid.load_decision", lambda: load_decision(broken))
    learned = HybridVerifier(paper_chunks=retrieve.paper_chunks, decision="learned")
    rules = HybridVerifier(paper_chunks=retrieve.paper_chunks, decision="rules")
    for text in ("Shoveler cuts decode latency by 41% on an A100.", "Shoveler cuts decode latency by 14% on an A100."):
        a, b = learned.verify(text, retrieve), rules.verify(text, retrieve)
        assert (a.label, a.rationale) == (b.label, b.rationale)


def test_the_corroboration_pass_keeps_the_fixed_order():
    from tasks.claims.settings import VerifierSettings
    from tasks.claims.verifiers import independent_verifier, make_verifier

    settings = VerifierSettings(decision="learned")
    assert make_verifier(settings).decision == "learned" == make_verifier(VerifierSettings()).decision  # the default
    assert independent_verifier(settings).decision == "rules"
