"""A question with no structured block runs the real flow to a literature review with no flagship text."""

import json
from pathlib import Path

import pytest

from tests.conftest import cpu_overrides

pytestmark = [pytest.mark.integration, pytest.mark.slow]

QUESTION = "How do KV caches, and caching in general, change the decoding throughput of diffusion language models (vs. autoregressive ones)?"


@pytest.fixture(scope="module")
def literature_run(prefect_harness, tmp_path_factory):
    from flows.research import research

    tmp = tmp_path_factory.mktemp("literature")
    return tmp, research(overrides=cpu_overrides(tmp) + [f"question.text={QUESTION}"])


def test_literature_report_speaks_of_the_question_only(literature_run):
    _, summary = literature_run
    assert summary["sweep_points"] == 0
    report = (Path(summary["out_dir"]) / "report" / "report.md").read_text()
    assert report.startswith("# Literature review: How do KV caches")
    assert "no experiment was run" in report and "## Discussion" in report
    lowered = report.lower()
    assert "expert explosion" not in lowered and "llama-2-70b" not in lowered and "parallel tokens" not in lowered
    assert "h100" not in lowered


def test_papers_and_tags_record_the_method_and_the_kind(literature_run):
    from mlflow.tracking import MlflowClient

    tmp, summary = literature_run
    rows = [json.loads(x) for x in (Path(summary["out_dir"]) / "papers.jsonl").read_text().splitlines()]
    assert rows and all(r["method"] == "hybrid" and "combined" in r["scores"] for r in rows)
    assert sum(r["kept"] for r in rows) == summary["papers_kept"] > 0
    run = MlflowClient(tracking_uri=f"sqlite:///{tmp / 'mlruns' / 'mlflow.db'}").get_run(summary["run_id"])
    assert run.data.tags["sovereign.report_kind"] == "literature"
    assert run.data.tags["sovereign.relevance_method"] == "hybrid"
    assert run.data.params["question.structured"] in ("None", "null", "")
    assert "relevance_cut" in run.data.metrics


def test_tribunal_judges_the_literature_claims(literature_run):
    _, summary = literature_run
    report = (Path(summary["out_dir"]) / "report" / "report.md").read_text()
    tribunal = report.split("## Tribunal", 1)[1].split("## References", 1)[0]
    assert "baseline_present" not in tribunal and "tokens_64_vs_128" not in tribunal
    assert summary["policy"] in ("ACCEPT", "ESCALATE_TO_OWNER")
