"""The ``research`` Prefect flow: question -> literature -> (sweep, claims, tribunal, report)."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import yaml
from prefect import flow

from flows import prefect_ui, store, tracking
from flows.config import load_settings, validate_config
from flows.literature import Literature, run_literature
from flows.progress import StageTimer, console
from flows.safety import atomic_write
from flows.claims import run_claims
from flows.report import log_sweep_figures, print_summary, write_report
from flows.review import record_outcome, review_written_report, run_review
from flows.sweep import make_add_points, print_sweep_table, refresh_summary, run_sweep
from tasks.tribunal.build import build_bundle
from tasks.tribunal.policy import escalate_after_review
from tasks.settings import Settings, project_path

log = logging.getLogger("sovereign.research")


@dataclass
class RunContext:
    """Where this run logs and writes: the MLflow client, experiment, parent run and output folder."""

    settings: Settings
    client: object
    experiment_id: str
    run_id: str
    out_dir: Path
    resumed: bool = False  # a fresh parent run has no children to look up before logging one


def _open_run(settings: Settings, resolved: dict, overrides: list[str]) -> RunContext:
    """Start the parent run, or resume the one a killed process left RUNNING with the same config."""
    client = tracking.client_for(settings.tracking)
    exp_id = tracking.experiment_id(client, f"{settings.tracking.experiment_prefix}-{settings.question.slug}", settings.tracking)
    config_hash = hashlib.sha256(json.dumps(resolved, sort_keys=True, default=str).encode()).hexdigest()[:16]
    run_id = tracking.find_orphaned_run(client, exp_id, config_hash)
    resumed = run_id is not None
    if run_id:
        console.print(f"[yellow]Resuming MLflow run {run_id}: an earlier process with the same config died before finishing.[/]")
        tracking.set_tags(client, run_id, {"sovereign.resumed": "true", **tracking.owner_tags()})
    else:
        name = settings.run.name or f"{settings.question.slug}-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}"
        tags = {"sovereign.overrides": json.dumps(overrides), "sovereign.question": settings.question.slug, "sovereign.config_hash": config_hash}
        run_id = tracking.start_run(client, exp_id, name, tags=tags | tracking.owner_tags() | tracking.source_tags(*prefect_ui.run_source()))
        tracking.log_params(client, run_id, tracking.flatten(resolved))
    out_dir = project_path(settings.run.output_dir) / run_id
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(out_dir / "config.yaml", yaml.safe_dump(resolved, sort_keys=False), what="resolved config")
    tracking.log_artifacts(client, run_id, [out_dir / "config.yaml"])
    return RunContext(settings, client, exp_id, run_id, out_dir, resumed=resumed)


def _record_literature(ctx: RunContext, lit: Literature) -> None:
    papers_file = ctx.out_dir / "papers.jsonl"
    lines = []
    for d in sorted(lit.decisions, key=lambda d: -(d.paper.relevance or 0)):
        kept = next((p for p in lit.papers if p.arxiv_id == d.paper.arxiv_id), None)
        row = json.loads((kept or d.paper).model_dump_json())
        row.update(kept=kept is not None, reason=d.reason if kept or not d.kept else "beyond retrieval.max_papers",
                   method=d.method, scores=d.scores)
        lines.append(json.dumps(row) + "\n")
    atomic_write(papers_file, "".join(lines), what="papers.jsonl")
    tracking.log_metrics(ctx.client, ctx.run_id, lit.metrics)
    tracking.set_tags(ctx.client, ctx.run_id, {"sovereign.retrieval_source": ",".join(lit.sources), "sovereign.index_reused": lit.index_reused,
                                               "sovereign.relevance_method": ctx.settings.relevance.method,
                                               "sovereign.report_kind": "experiment" if ctx.settings.question.structured else "literature"})
    tracking.log_artifacts(ctx.client, ctx.run_id, [papers_file])
    tracking.log_artifacts(ctx.client, ctx.run_id, [Path(lit.index_dir)], artifact_path="index")


def _run_stages(ctx: RunContext, settings: Settings, timer: StageTimer) -> dict:
    """Every stage, in order, into the open parent run; returns the run summary."""
    lit = run_literature(settings, timer)
    _record_literature(ctx, lit)
    sweep = None
    if settings.sweep is not None:
        sweep = run_sweep(ctx, settings, timer)
        tracking.log_artifacts(ctx.client, ctx.run_id, sweep.files, artifact_path="sweep")
        tracking.log_metrics(ctx.client, ctx.run_id, {"sweep_points": len(sweep.points), "sweep_points_failed": len(sweep.failed)})
        print_sweep_table(sweep, settings)
    claims = run_claims(ctx, settings, lit.papers, lit.index_dir, sweep, timer)
    tracking.log_metrics(ctx.client, ctx.run_id, claims.metrics)
    tracking.log_artifacts(ctx.client, ctx.run_id, claims.files, artifact_path="claims")
    bundle = build_bundle(
        question=settings.question, papers=lit.papers, papers_retrieved=int(lit.metrics["papers_retrieved"]),
        retrieval_sources=lit.sources, index_card=lit.card, verifier=settings.verifier.name,
        claims=claims.claims, verdicts=claims.verdicts + claims.empirical,
        sweep_points=sweep.points if sweep else (), fits=sweep.fits if sweep else (),
        mlflow_run_id=ctx.run_id, mlflow_uri=tracking.tracking_uri(settings.tracking),
        recorded=sweep.recorded if sweep else None,
    )
    if sweep is not None:
        structured = settings.question.structured
        log_sweep_figures(ctx, bundle.sweep, baseline=structured.baseline if structured else None)
    swept = len(sweep.points) if sweep else 0
    outcome = run_review(ctx, bundle, settings.tribunal, timer, add_points=make_add_points(ctx, settings, sweep))
    if sweep is not None and (refreshed := refresh_summary(ctx, sweep)):
        tracking.log_artifacts(ctx.client, ctx.run_id, refreshed, artifact_path="sweep")
        tracking.log_metrics(ctx.client, ctx.run_id, {"sweep_points_added_by_tribunal": len(sweep.points) - swept})
    with timer.stage("report"):
        report_path = write_report(ctx, bundle, outcome)
        review = review_written_report(ctx)
        if review.get("review_policy") == "ESCALATE_TO_OWNER" and outcome.policy.decision == "ACCEPT":
            outcome = escalate_after_review(outcome, review.get("review_reasons", []))  # the stricter verdict wins
            record_outcome(ctx, outcome)
            report_path = write_report(ctx, bundle, outcome)  # the report states the policy its own review reached
            review = review_written_report(ctx)
    summary = {
        "run_id": ctx.run_id,
        "experiment_id": ctx.experiment_id,
        "papers_kept": len(lit.papers),
        "papers_retrieved": lit.metrics["papers_retrieved"],
        "retrieval_source": ",".join(lit.sources),
        "index_dir": lit.index_dir,
        "out_dir": str(ctx.out_dir),
        "sweep_points": len(sweep.points) if sweep else 0,
        "claims": len(claims.claims),
        "score": round(outcome.final.aggregate, 2),
        "policy": outcome.policy.decision,
        "report": str(report_path),
    } | {k: v for k, v in review.items() if k != "review_reasons"}
    print_summary(outcome, report_path)
    return summary


@flow(name="research", log_prints=True, flow_run_name=prefect_ui.research_run_name)
def research(overrides: list[str] | None = None, config: dict | None = None) -> dict:
    """Answer the configured research question; returns a summary with the MLflow run id.

    Args:
        overrides: Hydra overrides, exactly as on the command line of ``flows/main.py``.
        config: the config ``flows/main.py`` composed from them (resolved). A UI run leaves it out and the flow,
            its entry point, composes the overrides itself.
    """
    overrides = list(overrides or [])
    if config is None:
        settings, resolved = load_settings(overrides)
    else:
        resolved = config
        settings = validate_config(resolved, overrides)
    store.prepare_tracking_store(settings.tracking)  # UI runs too: named causes, schema created under a lock
    ctx = _open_run(settings, resolved, overrides)
    store.fail_orphans(ctx.client, keep=ctx.run_id)  # runs a killed process left RUNNING, whatever their config
    store.remove_stale_partials(project_path(settings.run.cache_dir), project_path(settings.run.output_dir))
    timer = StageTimer()
    failed = True
    try:
        with tracking.heartbeat(ctx.client, ctx.run_id), tracking.system_metrics(settings.tracking, ctx.run_id):
            summary = _run_stages(ctx, settings, timer)
        failed = False
        prefect_ui.publish(summary, tracking.tracking_uri(settings.tracking))
        return summary
    finally:
        tracking.log_metrics(ctx.client, ctx.run_id, timer.seconds)
        if failed:
            store.fail_children(ctx.client, ctx.experiment_id, ctx.run_id)
        tracking.end_run(ctx.client, ctx.run_id, failed=failed)
        console.print(f"MLflow run {ctx.run_id} ({'FAILED' if failed else 'FINISHED'}) in {tracking.tracking_uri(settings.tracking)}", soft_wrap=True)
        prefect_ui.flush_logs()  # the run's last lines reach the Prefect UI before the process may end
