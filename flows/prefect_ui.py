"""What a run shows in the Prefect UI: its name, where it came from, and artifacts linking its MLflow run and report.

Prefect is imported lazily and every call degrades to a no-op outside a flow run, so plain functions and tests
that call the flow's helpers directly need no Prefect API.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

MAX_REPORT_CHARS = 60_000  # the artifact shows the report inline; the full file is an MLflow artifact


def _short(overrides: list[str], limit: int = 80) -> str:
    shown = " ".join(o for o in overrides if not o.startswith(("tracking.", "run.output_dir", "run.cache_dir")))
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def run_name_from(overrides: list[str] | None, run_name: str | None = None) -> str:
    """A flow run name that says what ran: ``run.name`` when given, else the overrides and the UTC time."""
    overrides = list(overrides or [])
    named = run_name or next((o.split("=", 1)[1] for o in overrides if o.startswith("run.name=")), None)
    if named:
        return named
    stamp = f"{datetime.now(timezone.utc):%m%d-%H%M%S}"
    return f"research {_short(overrides)} {stamp}".replace("  ", " ") if overrides else f"research {stamp}"


def research_run_name() -> str:
    """``flow_run_name`` callable of the ``research`` flow (reads the run's parameters)."""
    from prefect.runtime import flow_run

    return run_name_from(flow_run.parameters.get("overrides"))


def job_run_name() -> str:
    """``flow_run_name`` callable of the UI deployments: the form's run_name, else the deployment and the fields filled in."""
    from prefect.runtime import deployment, flow_run

    params = dict(flow_run.parameters or {})
    if params.get("run_name"):
        return str(params["run_name"])
    filled = [f"{k}={v}" for k, v in params.items() if v not in (None, False, [], "") and k not in ("run_name",)]
    head = deployment.name or flow_run.flow_name or "research"
    return f"{head} {_short(filled, 60)} {datetime.now(timezone.utc):%m%d-%H%M%S}".replace("  ", " ")


def in_flow_run() -> bool:
    import sys

    context = sys.modules.get("prefect.context")
    return bool(context and context.FlowRunContext.get())


def run_source() -> tuple[str, str]:
    """(mlflow.source.name, mlflow.source.type): the deployment when a Prefect worker runs us, else the script."""
    if in_flow_run():
        from prefect.runtime import deployment

        if deployment.id:
            return f"prefect deployment {deployment.name}", "JOB"
    return None, "LOCAL"


def mlflow_run_url(tracking_uri: str, experiment_id: str, run_id: str) -> str | None:
    """The run's page in the MLflow UI, when the tracking URI is a server."""
    if not re.match(r"https?://", tracking_uri):
        return None
    return f"{tracking_uri.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"


def report_url(tracking_uri: str, run_id: str, path: str = "report/report.html") -> str | None:
    """The report as served by the MLflow server's artifact proxy, when the tracking URI is a server."""
    if not re.match(r"https?://", tracking_uri):
        return None
    return f"{tracking_uri.rstrip('/')}/get-artifact?path={path}&run_uuid={run_id}"


def publish(summary: dict, tracking_uri: str) -> None:
    """A link artifact to the MLflow run and a markdown artifact with the answer and the report (inside a flow run)."""
    if not in_flow_run():
        return
    from prefect.artifacts import create_link_artifact, create_markdown_artifact

    run_url = mlflow_run_url(tracking_uri, summary["experiment_id"], summary["run_id"])
    html_url = report_url(tracking_uri, summary["run_id"])
    report_html = Path(summary["report"])
    if run_url:
        create_link_artifact(run_url, link_text=f"MLflow run {summary['run_id']}", key="mlflow-run", description="The parent MLflow run of this research run")
        where = f"[MLflow run {summary['run_id']}]({run_url}) · [report.html]({html_url})"
    else:
        where = (f"MLflow run `{summary['run_id']}` in `{tracking_uri}`; open it with "
                 f"`mlflow ui --backend-store-uri {tracking_uri}`")
    markdown_file = report_html.with_name("report.md")
    body = markdown_file.read_text(errors="replace") if markdown_file.exists() else "(report.md not found)"
    if len(body) > MAX_REPORT_CHARS:
        body = body[:MAX_REPORT_CHARS] + "\n\n… (truncated; the full report is the MLflow artifact report/report.md)"
    header = (f"# Research run: {summary.get('policy', '')} (score {summary.get('score', '')})\n\n{where}\n\n"
              f"Report files on the worker: `{report_html}` and `{markdown_file}`\n\n---\n\n")
    create_markdown_artifact(header + body, key="research-report", description="Answer, MLflow link and report")


def flush_logs(timeout_s: float = 10.0) -> None:
    """Inside a flow run: send the run's queued log lines to the Prefect API now and wait for them (at most
    ``timeout_s``). Without it the lines of the last seconds of a run (the report stage, the answer) were lost in the
    team stack: the process ended before Prefect's log worker shipped its last batch."""
    if not in_flow_run():
        return
    try:
        from prefect.logging.handlers import APILogWorker

        APILogWorker.drain_all(timeout=timeout_s)
    except Exception:  # noqa: BLE001 - shipping logs must never fail a finished run
        pass
