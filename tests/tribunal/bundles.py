"""Crafted evidence bundles for the tribunal and report tests (real question config, synthetic numbers)."""

from __future__ import annotations

from pathlib import Path

import yaml

from tasks.claims.records import Claim, Evidence, Verdict
from tasks.records import IndexCard, Paper
from tasks.settings import QuestionSettings
from tasks.tribunal.bundle import (ClaimRow, EvidenceBundle, FeasibilityRow, GpuProvenance, GrowthRow, SensitivityRow, SweepRow,
                                   TokenLatencyRow, Uncertainty, ValidationRow)
from tasks.moe.stats import iid_expected_unique

ROOT = Path(__file__).resolve().parents[2]
MODELS = {"llada2_mini": (256, 8), "llada_moe_7b": (64, 8)}  # E, k from conf/model
TOKENS = [1, 8, 16, 32, 64, 128, 256]


def question() -> QuestionSettings:
    return QuestionSettings.model_validate(yaml.safe_load((ROOT / "conf/question/expert_explosion.yaml").read_text()))


def paper(i: int, abstract: str = "") -> Paper:
    return Paper(arxiv_id=f"2501.{i:05d}", title=f"Paper {i} on MoE diffusion decoding",
                 abstract=abstract or f"We study expert activation in diffusion LLMs, paper {i}.", relevance=0.3)


def sweep_rows(hardware=("h100_sxm", "h200"), models=MODELS, tokens=TOKENS, routing="calibrated", baseline=True,
               measured_gpu: str | None = None, spread: float = 0.01) -> list[SweepRow]:
    rows = []
    bw = {"h100_sxm": 3.35e12, "h200": 4.8e12}
    for model, (e, k) in models.items():
        for n in tokens:
            unique = 0.8 * iid_expected_unique(e, k, n)
            for hw in hardware:
                nbytes = 2e9 + unique * 2.5e7 * 20
                ms = nbytes / bw.get(hw, 4.8e12) * 1e3
                rows.append(SweepRow(model=model, routing=routing, n_tokens=n, hardware=hw, unique_experts_mean=unique,
                                     unique_experts_p90=unique * 1.1, activated_fraction=unique / e, num_experts=e, top_k=k,
                                     bytes_per_step=nbytes, step_ms=ms, bandwidth_utilisation=1.0, tokens_per_s=n / 8 / ms * 1e3,
                                     bound="memory", run_id=f"run{model[:6]}{n:04d}{hw[:4]}"))
            if measured_gpu:
                rows.append(SweepRow(model=model, routing=routing, n_tokens=n, hardware=measured_gpu,
                                     source=f"measured:{measured_gpu}", unique_experts_mean=unique, num_experts=e, top_k=k,
                                     bytes_per_step=2e9, step_ms=1.7 * (2e9 / 4.8e12 * 1e3), bandwidth_utilisation=0.55,
                                     timing_spread=spread, run_id=f"gpu{model[:6]}{n:04d}"))
    if baseline:
        for n in tokens:
            for hw in hardware:
                ms = 1.38e11 / bw.get(hw, 4.8e12) * 1e3 * (1 + n / 512)
                rows.append(SweepRow(model="llama2_70b", routing="dense", n_tokens=n, hardware=hw, bytes_per_step=1.38e11,
                                     step_ms=ms, bandwidth_utilisation=1.0, tokens_per_s=n / ms * 1e3, bound="memory",
                                     run_id=f"runllama{n:04d}{hw[:4]}"))
    return rows


def claim_rows(labels=("SUPPORTED", "SUPPORTED", "CONTRADICTED", "NOT_ENOUGH_INFO")) -> list[ClaimRow]:
    rows = []
    for i, label in enumerate(labels):
        claim = Claim(claim_id=f"c{i}", text=f"Claim {i}: MoE decoding is {i + 2}x faster than dense.", source_id=f"2501.{i:05d}",
                      type="numeric")
        ev = [Evidence(paper_id=f"2501.{(i + 1):05d}", chunk_id=f"2501.{(i + 1):05d}#0", text=f"evidence for claim {i}", score=0.6)]
        verdict = Verdict(claim_id=claim.claim_id, claim_text=claim.text, label=label, confidence=0.7 + 0.05 * i,
                          verifier="hybrid", evidence=ev)
        rows.append(ClaimRow(claim=claim, verdict=verdict))
    claim = Claim(claim_id="e0", text="Unique experts grow nearly linearly with parallel tokens.", source_id="2501.00001",
                  type="scaling")
    rows.append(ClaimRow(claim=claim, verdict=Verdict(claim_id="e0", label="CONTRADICTED", confidence=0.9, verifier="empirical",
                                                      metric="unique_experts_mean", our_value=118.5, source="projected",
                                                      run_id="runllada20128h100")))
    return rows


def growth() -> list[GrowthRow]:
    return [GrowthRow(model=m, routing="calibrated", num_experts=e, n0=e / k * 1.3, r2=0.995, run_id="parent") for m, (e, k) in MODELS.items()]


def bundle(**overrides) -> EvidenceBundle:
    """A flagship-like bundle: projected only, calibrated routing, snapshot retrieval, no uncertainties stated."""
    data = dict(
        question=question(), papers=[paper(i) for i in range(8)], papers_retrieved=40, retrieval_sources=["snapshot"],
        index_card=IndexCard(embedder="all-MiniLM-L6-v2", dimension=384, vectors=31, paper_ids_sha256="ab" * 32,
                             chunking={"chunk_chars": 600, "overlap_sentences": 1}),
        verifier="hybrid", claims=claim_rows(), sweep=sweep_rows(), growth=growth(), gpu_provenance=None,
        mlflow_run_id="parentrun0001", mlflow_uri="sqlite:///tmp/mlflow.db", uncertainties=[],
    )
    data.update(overrides)
    return EvidenceBundle(**data)


def measured_bundle(spread: float = 0.01, **overrides) -> EvidenceBundle:
    prov = GpuProvenance(gpu="NVIDIA H200", driver="570.1", torch="2.13.0", cuda="12.8", date="2026-01-01", git_sha="abc123",
                         command="python -m tasks.gpu.measure")
    return bundle(**({"sweep": sweep_rows(measured_gpu="NVIDIA H200", spread=spread), "gpu_provenance": prov} | overrides))


def disclosed(*topics: str) -> list[Uncertainty]:
    return [Uncertainty(topic=t, text=f"stated: {t}") for t in topics]


# --- a draft that passes the substance checks (issue 13): validation, bands, feasibility, per-token latency, citations ---
DEFINING = {"2512.15745": "LLaDA2.0", "2509.24389": "LLaDA-MoE", "2307.09288": "Llama 2", "2605.30876": "dMoE",
            "2510.08666": "dInfer"}


def defining_papers() -> list[Paper]:
    return [Paper(arxiv_id=pid, title=f"{name}: the paper", abstract=f"{name} abstract.", relevance=0.4) for pid, name in DEFINING.items()]


def validation() -> list[ValidationRow]:
    rows = []
    for block, pub, fit in ((8, 31.8, False), (16, 48.9, False), (24, 60.6, False), (32, 69.5, True)):
        mod = pub * (1.0 if fit else 1.04)
        rows.append(ValidationRow(model="llada2_mini", setting=f"block={block}", n_tokens=block, published=pub,
                                  citation="dMoE, arXiv 2605.30876, Table 4", modelled=round(mod, 2),
                                  error_pct=round(100 * (mod - pub) / pub, 2), used_for_fit=fit))
    return rows


def sensitivity(sweep: list[SweepRow]) -> list[SensitivityRow]:
    out = []
    for n in (64, 128):
        row = next(r for r in sweep if r.model == "llada2_mini" and r.n_tokens == n and r.hardware == "h100_sxm")
        u = row.unique_experts_mean
        out.append(SensitivityRow(model="llada2_mini", n_tokens=n, hardware="h100_sxm", experts_central=u, experts_low=u,
                                  experts_high=u * 1.3, hypotheses={"one_block": u, "blocks_of_32": u * 1.3},
                                  step_ms_central=row.step_ms, step_ms_low=row.step_ms, step_ms_high=row.step_ms * 1.2))
    return out


def feasibility() -> list[FeasibilityRow]:
    return [FeasibilityRow(model="llama2_70b", hardware="h100_sxm", weights_gb=138.0, gpu_memory_gb=80.0, fits=False,
                           gpus_needed=2, parallelism="tensor"),
            FeasibilityRow(model="llama2_70b", hardware="h200", weights_gb=138.0, gpu_memory_gb=141.0, fits=True, gpus_needed=1),
            FeasibilityRow(model="llada2_mini", hardware="h100_sxm", weights_gb=32.0, gpu_memory_gb=80.0, fits=True, gpus_needed=1)]


def token_latency(sweep: list[SweepRow], baseline_tokens: float = 1.0) -> list[TokenLatencyRow]:
    out = []
    for n in (64, 128):
        row = next(r for r in sweep if r.model == "llada2_mini" and r.n_tokens == n and r.hardware == "h100_sxm")
        out.append(TokenLatencyRow(model="llada2_mini", n_tokens=n, hardware="h100_sxm", step_ms=row.step_ms, tokens_per_step=2.55,
                                   decoding="llada2_block32_t095", per_token_ms=row.step_ms / 2.55, tokens_per_s=2550 / row.step_ms,
                                   provenance="modelled"))
    base = next(r for r in sweep if r.model == "llama2_70b" and r.n_tokens == 1 and r.hardware == "h100_sxm")
    out.append(TokenLatencyRow(model="llama2_70b", n_tokens=1, hardware="h100_sxm", step_ms=base.step_ms, tokens_per_step=baseline_tokens,
                               decoding="autoregressive", per_token_ms=base.step_ms / baseline_tokens,
                               tokens_per_s=1000 * baseline_tokens / base.step_ms, provenance="modelled"))
    return out


def substantive(**overrides) -> EvidenceBundle:
    """A flagship-like bundle that passes every substance check (bundle level)."""
    sweep = sweep_rows()
    claims = [c.model_copy(update={"disposition": "dropped"}) if c.label == "CONTRADICTED" else c
              for c in claim_rows(("SUPPORTED", "SUPPORTED"))]
    data = dict(papers=[paper(i) for i in range(8)] + defining_papers(), claims=claims, sweep=sweep,
                validation=validation(), sensitivity=sensitivity(sweep), feasibility=feasibility(), token_latency=token_latency(sweep))
    return bundle(**(data | overrides))


def literature_only(**overrides) -> EvidenceBundle:
    """A draft with no experiment: papers and claims only."""
    return bundle(**({"sweep": [], "growth": [], "claims": claim_rows(("SUPPORTED", "SUPPORTED", "SUPPORTED"))} | overrides))
