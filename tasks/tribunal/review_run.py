"""Review a finished run again: re-read its evidence bundle and its report.md (as the owner edited it), rule, decide.

Inputs, in the run output folder (``mlruns/outputs/<run_id>/``, or any folder laid out alike):
``tribunal/bundle.json`` (or ``bundle.json``): the evidence bundle the report was written from;
``report/report.md`` (or ``report.md``): the report, possibly edited; ``config.yaml`` (optional): the run's
config, whose ``tribunal`` block sets the threshold and weights. Outputs, next to report.md:
``review.json`` (the rulings, the policy and every finding) and ``review.md``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError

from tasks.records import Record
from tasks.tribunal.bundle import EvidenceBundle
from tasks.tribunal.checks import ReportText
from tasks.tribunal.engine import rule
from tasks.tribunal.policy import aggregate_score, decide
from tasks.tribunal.records import ROLES, Policy, RoundRecord, Ruling
from tasks.tribunal.settings import TribunalSettings
from tasks.tribunal.synthesizer import merge_revisions

BUNDLE_PATHS = ("tribunal/bundle.json", "bundle.json")
REPORT_PATHS = ("report/report.md", "report.md")


class ReviewInputError(ValueError):
    """A run folder the review cannot read; the message names what is missing and how to get it."""


class ReviewResult(Record):
    """What the review command concluded about one run, as written."""

    run_dir: str
    report: str
    bundle: str
    report_sha256: str
    reviewed_at: str
    backend: str
    rulings: list[Ruling]
    aggregate: float
    policy: Policy
    findings: list[str] = Field(default_factory=list, description="'<role>: <kind>: <message>' of every role")

    def scores(self) -> dict[str, float]:
        return {r.role: r.score for r in self.rulings}


def _find(run_dir: Path, candidates: tuple[str, ...], what: str, fix: str) -> Path:
    for rel in candidates:
        if (run_dir / rel).is_file():
            return run_dir / rel
    raise ReviewInputError(f"{run_dir}: no {what} (looked for {', '.join(candidates)}); {fix}")


def load_run(run_dir: str | Path) -> tuple[Path, EvidenceBundle, Path, str]:
    """(bundle path, bundle, report path, report text) of a run folder, with errors that name the fix."""
    root = Path(run_dir)
    if not root.is_dir():
        raise ReviewInputError(f"{root} is not a folder; pass a run output folder such as mlruns/outputs/<run_id>")
    bpath = _find(root, BUNDLE_PATHS, "evidence bundle", "re-run the flow (it writes tribunal/bundle.json) or copy the bundle there")
    rpath = _find(root, REPORT_PATHS, "report", "the flow writes report/report.md; restore it or point at the right run")
    try:
        bundle = EvidenceBundle.model_validate_json(bpath.read_text())
    except (ValidationError, ValueError, OSError) as exc:
        raise ReviewInputError(f"{bpath} is not a valid evidence bundle ({str(exc)[:300]}); restore it from the run") from exc
    return bpath, bundle, rpath, rpath.read_text(errors="replace")


def run_settings(run_dir: Path, backend: str | None = None) -> tuple[TribunalSettings, dict]:
    """The run's own tribunal settings (config.yaml), defaults when absent; ``backend`` overrides."""
    cfg: dict = {}
    path = run_dir / "config.yaml"
    if path.is_file():
        try:
            cfg = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError:
            cfg = {}
    try:
        settings = TribunalSettings.model_validate(cfg.get("tribunal") or {})
    except ValidationError:
        settings = TribunalSettings()
    if backend:
        settings = settings.model_copy(update={"backend": backend})
    return settings, cfg


def review(bundle: EvidenceBundle, report_md: str | None, settings: TribunalSettings, chat_model: Any = None
           ) -> tuple[list[Ruling], float, Policy]:
    """One review round of a written draft (no automatic revision: the owner edits); returns rulings, aggregate, policy."""
    report = ReportText.parse(report_md) if report_md is not None else None
    rulings = [rule(role, bundle, settings, chat_model, report) for role in ROLES]
    record = RoundRecord(round=0, rulings=rulings, aggregate=aggregate_score(rulings, settings),
                         merged_revisions=merge_revisions(rulings))
    no_rounds = settings.model_copy(update={"max_rounds": 0})
    warnings = list(dict.fromkeys(w for r in rulings for w in r.warnings))
    return rulings, record.aggregate, decide([record], no_rounds, warnings)


def review_run(run_dir: str | Path, backend: str | None = None, chat_model: Any = None, write: bool = True) -> ReviewResult:
    """Review the run in ``run_dir`` as it is now; write review.json and review.md next to its report.md."""
    root = Path(run_dir)
    bpath, bundle, rpath, text = load_run(root)
    settings, cfg = run_settings(root, backend)
    if settings.backend == "llm" and chat_model is None:
        from tasks.tribunal.llm_judge import chat_model_from

        chat_model = chat_model_from(cfg.get(settings.llm.settings_group))
    rulings, aggregate, policy = review(bundle, text, settings, chat_model)
    result = ReviewResult(
        run_dir=str(root), report=str(rpath), bundle=str(bpath), report_sha256=hashlib.sha256(text.encode()).hexdigest(),
        reviewed_at=datetime.now(timezone.utc).isoformat(timespec="seconds"), backend=settings.backend, rulings=rulings,
        aggregate=aggregate, policy=policy, findings=[f"{r.role}: {f}" for r in rulings for f in r.findings],
    )
    if write:
        (rpath.parent / "review.json").write_text(json.dumps(json.loads(result.model_dump_json()), indent=1))
        (rpath.parent / "review.md").write_text(render_review(result))
    return result


def render_review(result: ReviewResult) -> str:
    """The review as Markdown: scores per role, failed items, findings, the policy."""
    lines = [f"# Review of {result.report}", "", f"Reviewed {result.reviewed_at} with the `{result.backend}` tribunal; "
             f"report sha256 `{result.report_sha256[:12]}`; bundle `{result.bundle}`.", "",
             "| role | score | failed items |", "|---|---|---|"]
    for r in result.rulings:
        failed = [f"{i.key}{' (critical)' if i.critical else ''}" for i in r.items if not i.passed and (i.weight > 0 or i.critical)]
        lines.append(f"| {r.role} | {r.score:.2f} | {', '.join(failed) or 'none'} |")
    lines += ["", f"**Aggregate {result.aggregate:.2f}** (threshold {result.policy.threshold:g}). "
              f"**Policy: {result.policy.decision}**", ""] + [f"- {r}" for r in result.policy.reasons]
    lines += ["", "## Findings", ""] + ([f"- {f}" for f in result.findings] or ["None."])
    return "\n".join(lines) + "\n"
