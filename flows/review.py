"""Tribunal stage: the three roles as mapped Prefect tasks, revision rounds, scores to MLflow round by round."""

from __future__ import annotations

import json
import logging

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows import engine, tracking
from flows.progress import StageTimer, console
from flows.safety import atomic_write
from tasks.tribunal.bundle import EvidenceBundle
from tasks.tribunal.engine import review_rounds, rule
from tasks.tribunal.records import ROLES, RoundRecord, Ruling, TribunalOutcome
from tasks.tribunal.revise import AddPoints
from tasks.tribunal.settings import TribunalSettings

log = logging.getLogger("sovereign.review")


@task(name="tribunal-role", cache_policy=NO_CACHE, task_run_name="{role}-round-{round_no}")
def review_role(role: str, bundle: EvidenceBundle, settings: TribunalSettings, round_no: int, llm_settings: object = None) -> Ruling:
    """One role's ruling; with tribunal=llm a failed or malformed model call degrades to the rubric inside."""
    chat_model = None
    if settings.backend == "llm":
        from tasks.tribunal.llm_judge import chat_model_from

        chat_model = chat_model_from(llm_settings)
    return rule(role, bundle, settings, chat_model)


def _llm_settings(ctx, settings: TribunalSettings) -> object:
    """The chat-model settings named by tribunal.llm.settings_group (typed field or an extra group)."""
    group = settings.llm.settings_group
    found = getattr(ctx.settings, group, None)
    return found if found is not None else ctx.settings.extra.get(group)


def run_review(ctx, bundle: EvidenceBundle, settings_tribunal: TribunalSettings, timer: StageTimer,
               add_points: AddPoints = None) -> TribunalOutcome:
    """Review the draft, revise below the threshold, decide the policy; log every round to the parent run.

    Args:
        ctx: flows.research.RunContext (MLflow client, parent run id, out_dir).
        bundle: the evidence bundle (tasks.tribunal.build.build_bundle).
        settings_tribunal: the tribunal config group.
        timer: the run's StageTimer (stage 'tribunal').
        add_points: callback list[PointRequest] -> list[SweepRow] that runs missing sweep points; None disables it.
    Returns:
        The TribunalOutcome; its ``bundle`` is the revised draft to write the report from.
    """
    s = settings_tribunal
    llm = _llm_settings(ctx, s) if s.backend == "llm" else None
    if s.backend == "llm" and llm is None:
        console.print(f"[yellow]⚠ tribunal=llm but no '{s.llm.settings_group}' config group is selected: the rubric rules instead[/]")

    def review(current: EvidenceBundle, round_no: int) -> list[Ruling]:
        futures = engine.map(review_role, list(ROLES), bundle=current, settings=s, round_no=round_no, llm_settings=llm)
        return [f.result() for f in futures]

    def on_round(record: RoundRecord) -> None:
        tracking.log_metrics(ctx.client, ctx.run_id, record.metrics(), step=record.round)
        scores = ", ".join(f"{r.role} {r.score:.2f}" for r in record.rulings)
        console.print(f"  tribunal round {record.round}: {scores} → aggregate {record.aggregate:.2f}"
                      + (f"; {len(record.applied)} revisions applied" if record.applied else ""))

    with timer.stage("tribunal", f"({s.backend}, threshold {s.threshold})") as note:
        outcome = review_rounds(bundle, s, review, add_points, on_round)
        note["summary"] = (f"{outcome.initial.aggregate:.2f} → {outcome.final.aggregate:.2f} after {outcome.policy.rounds} "
                           f"revision round(s); {outcome.policy.decision}")
    record_outcome(ctx, outcome)
    return outcome


def record_outcome(ctx, outcome: TribunalOutcome) -> None:
    """Final metrics, policy tags and the rulings (JSON) on the parent run."""
    tracking.log_metrics(ctx.client, ctx.run_id, {
        "tribunal.revisions": outcome.revisions_applied, "tribunal.rounds": outcome.policy.rounds,
        "tribunal.initial_aggregate": outcome.initial.aggregate, "tribunal.final_aggregate": outcome.final.aggregate,
        "tribunal.accepted": float(outcome.policy.decision == "ACCEPT"),
    })
    tracking.set_tags(ctx.client, ctx.run_id, {"sovereign.policy": outcome.policy.decision,
                                                "sovereign.tribunal_backend": outcome.backend})
    folder = ctx.out_dir / "tribunal"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tribunal.json"
    atomic_write(path, json.dumps(json.loads(outcome.model_dump_json(exclude={"bundle"})), indent=1), what="tribunal rulings")
    atomic_write(folder / "bundle.json", outcome.bundle.model_dump_json(indent=1), what="evidence bundle")
    tracking.log_artifacts(ctx.client, ctx.run_id, [path, folder / "bundle.json"], artifact_path="tribunal")
    for warning in outcome.warnings:
        log.warning("tribunal: %s", warning)


def review_written_report(ctx) -> dict:
    """Review the report as written (text checks included) and keep review.json / review.md beside it, logged under 'report'.

    The in-flow rounds judge the bundle before the report exists; this second look is what
    ``python -m tasks.tribunal review <out_dir>`` prints, so the run starts with the owner's view of it.
    """
    from tasks.tribunal.review_run import ReviewInputError, review_run

    try:  # the rubric backend: deterministic and offline (an LLM tribunal already ruled in the rounds)
        result = review_run(ctx.out_dir, backend="rubric")
    except (ReviewInputError, OSError, ValueError) as exc:  # never lose a finished run over its second review
        log.warning("review of the written report skipped: %s", exc)
        return {}
    folder = ctx.out_dir / "report"
    tracking.log_artifacts(ctx.client, ctx.run_id, [folder / "review.json", folder / "review.md"], artifact_path="report")
    tracking.log_metrics(ctx.client, ctx.run_id, {"review.aggregate": result.aggregate,
                                                   "review.accepted": float(result.policy.decision == "ACCEPT")})
    tracking.set_tags(ctx.client, ctx.run_id, {"sovereign.review_policy": result.policy.decision})
    console.print(f"  review of the written report: {', '.join(f'{k} {v:.2f}' for k, v in result.scores().items())} → "
                  f"{result.aggregate:.2f}, {result.policy.decision} ({folder / 'review.md'})")
    return {"review_aggregate": result.aggregate, "review_policy": result.policy.decision, "review_reasons": result.policy.reasons}
