"""Report stage: write report.md / report.html with figures, log them to the parent run, print the summary."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel

from flows import tracking
from flows.progress import console as default_console
from flows.safety import disk_full_guard
from tasks.report import flagship
from tasks.report.figure_cache import sweep_figures
from tasks.report.render import write_report_files
from tasks.settings import project_path
from tasks.tribunal.bundle import EvidenceBundle, SweepRow
from tasks.tribunal.records import TribunalOutcome


def _figure_cache(ctx) -> Path | None:
    """``run.cache_dir/figures``: figures rendered before from the same rows are copied, not drawn again."""
    cache_dir = getattr(getattr(getattr(ctx, "settings", None), "run", None), "cache_dir", None)
    return project_path(cache_dir) / "figures" if cache_dir else None


def log_sweep_figures(ctx, rows: list[SweepRow], baseline: str | None = None) -> list[Path]:
    """The three sweep PNGs under out_dir/sweep/figures, logged to the parent run under 'sweep/figures'."""
    paths = sweep_figures(rows, ctx.out_dir / "sweep" / "figures", baseline, cache_dir=_figure_cache(ctx))
    tracking.log_artifacts(ctx.client, ctx.run_id, paths, artifact_path="sweep/figures")
    return paths


def write_report(ctx, bundle: EvidenceBundle, outcome: TribunalOutcome) -> Path:
    """Write the report into ``ctx.out_dir/report`` and log it as parent-run artifacts under 'report'.

    Args:
        ctx: flows.research.RunContext.
        bundle: the bundle before review; the report is written from ``outcome.bundle`` (the revised draft)
            when the tribunal ran, which is what the scores refer to.
        outcome: from flows.review.run_review.
    Returns:
        Path of report.html (report.md and figures/ lie beside it).
    """
    draft = outcome.bundle if outcome.bundle is not None else bundle
    with disk_full_guard("the report", ctx.out_dir / "report"):  # a full disk: a message naming the fix
        files = write_report_files(draft, outcome, ctx.out_dir / "report", _figure_cache(ctx))
    tracking.log_artifacts(ctx.client, ctx.run_id, [files["markdown"], files["html"]], artifact_path="report")
    tracking.log_artifacts(ctx.client, ctx.run_id, [files["figures"]], artifact_path="report")
    tracking.set_tags(ctx.client, ctx.run_id, {"sovereign.report": str(files["html"])})
    return files["html"]


def print_summary(outcome: TribunalOutcome, report_path: Path, console: Console | None = None) -> None:
    """The closing console summary: the answer, the score, the policy and where the report is."""
    out = console or default_console
    p = outcome.policy
    colour = "green" if p.decision == "ACCEPT" else "yellow"
    scores = " → ".join(f"{rd.aggregate:.2f}" for rd in outcome.rounds)
    bundle = outcome.bundle
    answer = flagship.abstract(bundle) if bundle is not None and bundle.token_latency else outcome.answer
    body = (f"{escape(answer)}\n\n[bold]Tribunal[/] ({outcome.backend}): {scores} / 10 (threshold {p.threshold:g}, "
            f"{outcome.revisions_applied} revisions in {p.rounds} round(s))\n[bold {colour}]Policy: {p.decision}[/]\n"
            + "\n".join(f"  • {escape(r)}" for r in p.reasons))
    out.print(Panel(body, title=f"[bold]{p.banner}[/]", border_style=colour, expand=False))
    # Outside the panel and never wrapped, so a path can be copied whole from any terminal width.
    for path in (Path(report_path).resolve(), Path(report_path).with_name("report.md").resolve()):
        out.print(f"report: {path}", soft_wrap=True, markup=False, highlight=False)
