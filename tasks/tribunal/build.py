"""Build the EvidenceBundle from the stages' own records (claims, sweep points, GPU measurements).

Duck-typed on purpose: it reads attributes of tasks.moe.sweep.PointResult, of the
flow's SweepPoint (``projected``, ``measurement``, ``run_id``) and of
tasks.experiments.measured.Measurement, without importing prefect or mlflow.
"""

from __future__ import annotations

from typing import Any, Iterable

from tasks.claims.records import Claim, Verdict
from tasks.records import IndexCard, Paper
from tasks.settings import QuestionSettings
from tasks.experiments.flagship import derive
from tasks.experiments.two_gpus import two_gpu_rows
from tasks.tribunal.bundle import (ClaimRow, EvidenceBundle, FeasibilityRow, GpuProvenance, GrowthRow, SensitivityRow, SweepRow,
                                   TokenLatencyRow, TwoGpuRow, Uncertainty, ValidationRow)


def claim_rows(claims: Iterable[Claim], verdicts: Iterable[Verdict]) -> list[ClaimRow]:
    """Pair each claim with the verdict the draft relies on: the empirical one (it has a metric) if any, else the first."""
    by_claim: dict[str, list[Verdict]] = {}
    for v in verdicts:
        by_claim.setdefault(v.claim_id, []).append(v)
    rows = []
    for claim in claims:
        found = by_claim.get(claim.claim_id, [])
        chosen = next((v for v in found if v.metric), found[0] if found else None)
        rows.append(ClaimRow(claim=claim, verdict=chosen))
    return rows


def experts_provenance(routing: str) -> str:
    """The class of a point's unique-expert counts: a replayed trace is measured routing; every router is a model."""
    return "measured: recorded routing trace" if routing == "trace" else f"modelled: {routing} routing"


def _projected_rows(result: Any, run_id: str | None) -> list[SweepRow]:
    if result.failed:
        return [SweepRow(model=result.model, routing=result.routing, n_tokens=result.n_tokens, hardware=",".join(result.hardware),
                         failed=True, error=result.error, run_id=run_id)]
    stats = result.stats or {}
    rows = []
    for hw, rf in result.roofline.items():
        rows.append(SweepRow(
            model=result.model, routing=result.routing, n_tokens=result.n_tokens, hardware=hw, source="modelled",
            experts_provenance=experts_provenance(result.routing), time_provenance=f"modelled: roofline on {hw} datasheet",
            unique_experts_mean=stats.get("unique_mean"), unique_experts_p90=stats.get("unique_p90"),
            activated_fraction=stats.get("activated_fraction"), num_experts=stats.get("num_experts"), top_k=stats.get("top_k"),
            bytes_per_step=result.bytes.get("total"), step_ms=rf["time_ms"],
            bandwidth_utilisation=rf["bandwidth_utilisation_projected"], tokens_per_s=rf["tokens_per_s"], bound=rf["bound"],
            run_id=run_id,
        ))
    return rows


def _measured_row(result: Any, measurement: Any, run_id: str | None) -> SweepRow:
    p = measurement.point
    stats = result.stats or {}
    committed = result.tokens_committed or 0.0
    return SweepRow(
        model=result.model, routing=result.routing, n_tokens=result.n_tokens,
        hardware=measurement.provenance.get("gpu_name", measurement.source.removeprefix("measured:")), source=measurement.source,
        unique_experts_mean=p.unique_experts_mean if p.unique_experts_mean is not None else stats.get("unique_mean"),
        unique_experts_p90=p.unique_experts_p90 if p.unique_experts_p90 is not None else stats.get("unique_p90"),
        activated_fraction=stats.get("activated_fraction"), num_experts=stats.get("num_experts"), top_k=stats.get("top_k"),
        bytes_per_step=p.bytes_moved or None, step_ms=p.step_ms, bandwidth_utilisation=p.util_copy or None,
        tokens_per_s=committed / p.step_ms * 1e3 if committed and p.step_ms else None, timing_spread=p.spread,
        h100_projected_ms=getattr(p, "h100_projected_ms", None), run_id=run_id,
        experts_provenance=experts_provenance(result.routing),
        projection_rule=f"measured on {measurement.source.removeprefix('measured:')} x H200/H100 datasheet bandwidth (4.8/3.35 TB/s)",
    )


def sweep_rows(points: Iterable[Any]) -> tuple[list[SweepRow], GpuProvenance | None]:
    """Rows from the flow's SweepPoints (or bare moe PointResults): one per hardware projection, one per measurement.

    Returns:
        (rows, provenance of the first measurement found, or None when nothing was measured).
    """
    rows: list[SweepRow] = []
    provenance = None
    for point in points:
        result = getattr(point, "projected", point)
        run_id = getattr(point, "run_id", None)
        measurement = getattr(point, "measurement", None)
        rows += _projected_rows(result, run_id)
        if measurement is not None and not result.failed:
            rows.append(_measured_row(result, measurement, run_id))
            if provenance is None:
                provenance = gpu_provenance(measurement.provenance)
    return rows, provenance


def gpu_provenance(prov: dict | Any) -> GpuProvenance:
    """From tasks.gpu.results.Provenance (or its dict)."""
    d = prov if isinstance(prov, dict) else vars(prov)
    return GpuProvenance(gpu=d.get("gpu_name") or d.get("gpu") or "unknown", driver=str(d.get("driver") or "unknown"),
                         torch=str(d.get("torch") or "unknown"), cuda=str(d.get("cuda") or ""), date=str(d.get("date") or ""),
                         git_sha=str(d.get("git_sha") or "unknown"), command=str(d.get("command") or ""))


def growth_rows(fits: Iterable[dict], run_id: str | None = None) -> list[GrowthRow]:
    """From tasks.moe.sweep.growth_fits dicts (keys model, routing, E, p, n0, r2, mix_*, slope_small_N)."""
    return [GrowthRow(model=f["model"], routing=f["routing"], num_experts=int(f["E"]), n0=float(f["n0"]), r2=float(f["r2"]),
                      p=f.get("p"), slope_small_n=f.get("slope_small_N"), mix_n0=f.get("mix_n0"), mix_beta=f.get("mix_beta"),
                      mix_r2=f.get("mix_r2"), source=f.get("source", "modelled"), run_id=run_id) for f in fits]


def build_bundle(question: QuestionSettings, papers: list[Paper], papers_retrieved: int, retrieval_sources: list[str],
                 index_card: IndexCard | None = None, verifier: str = "hybrid", claims: Iterable[Claim] = (),
                 verdicts: Iterable[Verdict] = (), sweep_points: Iterable[Any] = (), fits: Iterable[dict] = (),
                 mlflow_run_id: str | None = None, mlflow_uri: str | None = None,
                 uncertainties: Iterable[Uncertainty] = (), recorded: Any = None) -> EvidenceBundle:
    """The bundle from the outputs of the literature, claims and sweep stages.

    Args:
        question: settings.question.
        papers, papers_retrieved, retrieval_sources, index_card: from the literature stage.
        verifier: name of the verifier whose verdicts are passed.
        claims, verdicts: tasks.claims.records; empirical verdicts (with ``metric``) win over textual ones.
        sweep_points: flows.sweep SweepPoint list (or tasks.moe PointResults).
        fits: tasks.moe.sweep.growth_fits(...) dicts.
        mlflow_run_id, mlflow_uri: the parent run.
        uncertainties: limitations the flow already knows of.
        recorded: tasks.experiments.measured.RecordedResults; its multi-GPU runs become ``two_gpu`` rows.
    """
    sweep_points = list(sweep_points)
    rows, provenance = sweep_rows(sweep_points)
    derived = derive(sweep_points, rows, question)
    q = question.structured
    two = two_gpu_rows(recorded, [*q.models, q.baseline], [1, *q.parallel_tokens]) if recorded is not None and q else []
    return EvidenceBundle(
        question=question, papers=list(papers), papers_retrieved=papers_retrieved, retrieval_sources=sorted(retrieval_sources),
        index_card=index_card, verifier=verifier, claims=claim_rows(claims, verdicts), sweep=rows,
        growth=growth_rows(fits, mlflow_run_id), gpu_provenance=provenance, mlflow_run_id=mlflow_run_id,
        mlflow_uri=mlflow_uri, uncertainties=list(uncertainties),
        validation=[ValidationRow(**d) for d in derived["validation"]],
        sensitivity=[SensitivityRow(**d) for d in derived["sensitivity"]],
        feasibility=[FeasibilityRow(**d) for d in derived["feasibility"]],
        token_latency=[TokenLatencyRow(**d) for d in derived["token_latency"]],
        two_gpu=[TwoGpuRow(**d) for d in two],
    )
