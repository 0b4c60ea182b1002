"""run_review + write_report on a temporary MLflow store: report numbers equal the MLflow metrics they cite."""

from __future__ import annotations

import os
from types import SimpleNamespace

import bundles as B
import pytest
from test_report import table_after

from tasks.tribunal.settings import TribunalSettings

pytestmark = pytest.mark.integration


@pytest.fixture()
def ctx(tmp_path, prefect_harness):
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from flows import tracking
    from flows.research import RunContext

    client = tracking.MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = client.create_experiment("report-test", artifact_location=(tmp_path / "artifacts").as_uri())
    run_id = tracking.start_run(client, exp, "parent")
    return RunContext(SimpleNamespace(extra={}), client, exp, run_id, tmp_path / "out")


def test_review_and_report_match_mlflow(ctx):
    from prefect import flow

    from flows import tracking
    from flows.progress import StageTimer
    from flows.report import log_sweep_figures, write_report
    from flows.review import run_review

    rows = []
    for row in B.sweep_rows(hardware=("h100_sxm",)):
        child = tracking.start_run(ctx.client, ctx.experiment_id, row.label, parent_id=ctx.run_id)
        tracking.log_metrics(ctx.client, child, row.mlflow_metrics())
        rows.append(row.model_copy(update={"run_id": child}))
    bundle = B.bundle(sweep=rows, papers=[B.paper(1), B.paper(2)], mlflow_run_id=ctx.run_id)
    timer = StageTimer()
    assert len(log_sweep_figures(ctx, bundle.sweep, "llama2_70b")) == 3

    @flow(name="review-and-report")
    def stage():  # the roles are mapped tasks, so they need a flow run
        outcome = run_review(ctx, bundle, TribunalSettings(), timer, add_points=None)
        return outcome, write_report(ctx, bundle, outcome)

    outcome, report = stage()
    assert "seconds_tribunal" in timer.seconds and report.name == "report.html"

    md = report.with_name("report.md").read_text()
    history = ctx.client.get_metric_history(ctx.run_id, "tribunal.aggregate")
    by_step = {m.step: m.value for m in history}
    table = table_after(md, "## Tribunal")
    assert len(table) == len(by_step) >= 2
    for row in table:
        assert float(row["aggregate"]) == pytest.approx(by_step[int(row["round"])], abs=5e-3)
    skeptic = {m.step: m.value for m in ctx.client.get_metric_history(ctx.run_id, "tribunal.skeptic")}
    assert float(table[0]["skeptic"]) == pytest.approx(skeptic[0], abs=5e-3)

    cited = next(r for r in table_after(md, "### The question's numbers") if r["model"] == "llada2_mini" and r["N"] == "64")
    child = next(r for r in outcome.bundle.sweep if r.run_id and r.run_id.startswith(cited["run"].strip("`")) and r.model == "llada2_mini"
                 and r.n_tokens == 64)
    logged = ctx.client.get_run(child.run_id).data.metrics
    assert float(cited["step ms"]) == pytest.approx(logged["roofline_ms_h100_sxm"], rel=1e-3)
    assert float(cited["unique experts (mean)"]) == pytest.approx(logged["unique_experts_mean"], rel=1e-3)

    parent = ctx.client.get_run(ctx.run_id).data
    assert parent.metrics["tribunal.revisions"] == outcome.revisions_applied > 0
    assert parent.tags["sovereign.policy"] == outcome.policy.decision
    artifacts = {a.path for a in ctx.client.list_artifacts(ctx.run_id, "report")}
    assert {"report/report.md", "report/report.html", "report/figures"} <= artifacts
    assert {a.path for a in ctx.client.list_artifacts(ctx.run_id, "sweep/figures")} >= {"sweep/figures/unique_experts_vs_n.png"}
