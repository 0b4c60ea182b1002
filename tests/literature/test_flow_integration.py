"""The real research flow on CPU against the shipped snapshot, checked through MLflow."""

import json
from pathlib import Path

import pytest

from tests.conftest import cpu_overrides

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def flow_runs(prefect_harness, tmp_path_factory):
    from flows.research import research

    tmp = tmp_path_factory.mktemp("flow")
    overrides = cpu_overrides(tmp)
    first = research(overrides=overrides)
    second = research(overrides=overrides)
    return tmp, first, second


def _client(tmp: Path):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{tmp / 'mlruns' / 'mlflow.db'}")


def test_parent_run_has_params_metrics_and_artifacts(flow_runs):
    tmp, first, _ = flow_runs
    run = _client(tmp).get_run(first["run_id"])
    assert run.info.status == "FINISHED"
    params, metrics = run.data.params, run.data.metrics
    assert params["retrieval.backend"] == "snapshot"
    assert params["retrieval.relevance_threshold"] == "0.15"
    assert "expert explosion" in params["question.text"]
    assert metrics["queries"] >= 4
    assert metrics["papers_retrieved"] > metrics["papers_kept"] > 0
    assert metrics["vectors"] == metrics["chunks"] > 0
    assert metrics["seconds_retrieval"] >= 0 and "seconds_index" in metrics
    assert run.data.tags["sovereign.retrieval_source"] == "snapshot"
    names = {a.path for a in _client(tmp).list_artifacts(first["run_id"])}
    assert {"config.yaml", "papers.jsonl", "index"} <= names
    index_files = {Path(a.path).name for a in _client(tmp).list_artifacts(first["run_id"], "index/" + Path(first["index_dir"]).name)}
    assert {"index.faiss", "index_card.json", "chunks.jsonl"} <= index_files


def test_papers_file_records_scores_and_drops_distractors(flow_runs):
    _, first, _ = flow_runs
    rows = [json.loads(line) for line in (Path(first["out_dir"]) / "papers.jsonl").read_text().splitlines()]
    kept = [r for r in rows if r["kept"]]
    assert len(kept) == first["papers_kept"]
    assert all(r["method"] == "hybrid" and {"bm25", "embedding", "combined", "cut"} <= set(r["scores"]) for r in rows)
    assert all(r["semantic"] is not None for r in kept)
    assert all(r["scores"]["combined"] >= r["scores"]["cut"] or r["scores"]["named"] or "best" in r["reason"] for r in kept)
    assert all(not r["kept"] for r in rows if r["reason"].startswith("hybrid") and r["scores"]["combined"] < r["scores"]["cut"])
    assert not {"2303.04137", "2106.05974", "2210.09461"} & {r["arxiv_id"] for r in kept}


def test_rerun_reuses_cached_search_and_index(flow_runs):
    tmp, first, second = flow_runs
    assert second["run_id"] != first["run_id"]
    assert second["index_dir"] == first["index_dir"]
    tags = _client(tmp).get_run(second["run_id"]).data.tags
    assert tags["sovereign.index_reused"] == "True"
