"""The EvidenceBundle: the one typed input of the tribunal and the report.

Everything the reviewers judge and the report prints comes from here, so the
report's numbers are the bundle's numbers (which the flow also logs to MLflow).
Importable without prefect or mlflow. Builders from stage outputs: tasks/tribunal/build.py.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from tasks.claims.records import Claim, Verdict
from tasks.moe.sweep import DENSE_ROUTING
from tasks.provenance import Provenance
from tasks.records import IndexCard, Paper, Record
from tasks.settings import QuestionSettings

Disposition = Literal["stated", "softened", "dropped"]
# Routing models from least to most realistic; the answer uses the most realistic present.
ROUTING_REALISM = ("iid", "zipf", "calibrated", "trace")


def hardware_family(name: str | None) -> str:
    """'h100_sxm', 'NVIDIA H100 80GB HBM3', 'measured:NVIDIA H200' -> 'h100' / 'h200'; unknown -> lower name."""
    text = (name or "").lower()
    for family in ("gh200", "h100", "h200", "h800", "a100", "b200", "l40", "mi300", "cpu"):
        if family in text:
            return family
    return text.removeprefix("measured:").strip()


class ClaimRow(Record):
    """A claim, the verdict the draft relies on, and how the draft states it.

    ``verdict`` is the empirical verdict where one exists (it carries metric,
    our_value, source measured|projected, run_id), else the configured verifier's.
    ``disposition`` is the draft's use of the claim: stated as fact, softened
    ("unverified: ..."), or dropped from the text (it stays in the claims table).
    """

    claim: Claim
    verdict: Verdict | None = None
    disposition: Disposition = "stated"

    @property
    def label(self) -> str:
        return self.verdict.label if self.verdict else "NOT_ENOUGH_INFO"

    @property
    def confidence(self) -> float:
        return self.verdict.confidence if self.verdict else 0.0

    @property
    def source_id(self) -> str | None:
        return self.claim.source_id

    @property
    def empirical(self) -> bool:
        return bool(self.verdict and self.verdict.metric)

    @property
    def evidence_text(self) -> str:
        """The run and metric for empirical verdicts, else the best non-source evidence span."""
        v = self.verdict
        if v is None:
            return "no verdict"
        if v.metric:
            value = f"{v.our_value:.4g}" if v.our_value is not None else "?"
            return f"{v.metric}={value} ({v.source or 'projected'}, run {(v.run_id or '?')[:8]})"
        spans = sorted(v.evidence, key=lambda e: (e.is_claim_source, -e.score))
        return f"[{spans[0].paper_id}] {spans[0].text[:160]}" if spans else (v.rationale[:160] or "no evidence")


class SweepRow(Record):
    """One (model, routing, N, hardware) point: expert statistics, bytes and step time, modelled or measured.

    ``step_ms`` is the roofline time for modelled rows and the median for measured ones;
    ``bandwidth_utilisation`` is a fraction (bytes/step_ms over the hardware's bandwidth).
    Provenance is per quantity (tasks/provenance.py): a measured row's step time is ``measured`` while its
    unique experts come from the synthetic router and are ``modelled`` (``experts_provenance``);
    ``h100_projected_ms`` is ``projected`` by the rule in ``projection_rule``.
    """

    model: str
    routing: str
    n_tokens: int = Field(gt=0)
    hardware: str = Field(description="conf/hardware key for projections, GPU name for measurements")
    source: str = Field("projected", description="class of the step time: 'modelled' (roofline on a datasheet; what "
                        "tasks/tribunal/build.py writes), 'measured:<gpu>', or the legacy default 'projected' (read as modelled)")
    unique_experts_mean: float | None = None
    unique_experts_p90: float | None = None
    activated_fraction: float | None = None
    num_experts: int | None = Field(None, description="routed experts per MoE layer, E (None for dense)")
    top_k: int | None = None
    bytes_per_step: float | None = None
    step_ms: float | None = None
    bandwidth_utilisation: float | None = None
    tokens_per_s: float | None = None
    bound: str | None = Field(None, description="'memory' | 'compute' for roofline rows")
    timing_spread: float | None = Field(None, description="repeat spread as a fraction (measured rows)")
    h100_projected_ms: float | None = Field(None, description="measured ms x (H200 / H100 datasheet bandwidth): a projection")
    run_id: str | None = Field(None, description="MLflow child run of this point")
    failed: bool = False
    error: str | None = None
    experts_provenance: str = Field("modelled: synthetic routing",
                                    description="'<class>: <source>' of the unique-expert counts (modelled unless from a trace)")
    time_provenance: str | None = Field(None, description="'<class>: <source>' of step_ms; derived from source when None")
    projection_rule: str | None = Field(None, description="the rule behind h100_projected_ms")

    @field_validator("source")
    @classmethod
    def _known_source(cls, value: str) -> str:
        if value not in ("modelled", "projected") and not value.startswith("measured:"):
            raise ValueError("SweepRow.source must be 'modelled', 'measured:<gpu>' (or legacy 'projected')")
        return value

    @property
    def step_provenance(self) -> Provenance:
        """Provenance of ``step_ms``: measured on the GPU, or modelled (roofline on this hardware's datasheet)."""
        if self.time_provenance:
            kind, _, src = self.time_provenance.partition(":")
            return Provenance(kind=kind.strip(), source=src.strip(), run_id=self.run_id)  # type: ignore[arg-type]
        if self.measured:
            return Provenance(kind="measured", source=self.source.removeprefix("measured:"), run_id=self.run_id)
        return Provenance(kind="modelled", source=f"roofline on {self.hardware} datasheet", run_id=self.run_id)

    @property
    def experts_prov(self) -> Provenance:
        """Provenance of the unique-expert counts (never 'measured' for a synthetic router)."""
        kind, _, src = self.experts_provenance.partition(":")
        return Provenance(kind=kind.strip(), source=src.strip(), run_id=self.run_id)  # type: ignore[arg-type]

    @property
    def projection_prov(self) -> Provenance | None:
        if self.h100_projected_ms is None:
            return None
        return Provenance(kind="projected", source=self.projection_rule or "x H200/H100 datasheet bandwidth", run_id=self.run_id)

    @property
    def measured(self) -> bool:
        return self.source.startswith("measured:")

    @property
    def dense(self) -> bool:
        return self.routing == DENSE_ROUTING or not self.num_experts

    @property
    def label(self) -> str:
        return f"{self.model}·{self.routing}·N={self.n_tokens}"

    def mlflow_metrics(self) -> dict[str, float]:
        """This row's numbers under the metric names flows/sweep.py logs to the point's child run."""
        if self.measured:
            pairs = {"measured_step_ms": self.step_ms, "measured_util_copy": self.bandwidth_utilisation,
                     "measured_spread": self.timing_spread, "h100_projected_from_measured_ms": self.h100_projected_ms}
        else:
            hw = self.hardware
            pairs = {"unique_experts_mean": self.unique_experts_mean, "unique_experts_p90": self.unique_experts_p90,
                     "activated_fraction": self.activated_fraction, "bytes_per_step": self.bytes_per_step,
                     f"roofline_ms_{hw}": self.step_ms, f"tokens_per_s_{hw}": self.tokens_per_s,
                     f"bandwidth_util_modelled_{hw}": self.bandwidth_utilisation}
        return {k: float(v) for k, v in pairs.items() if v is not None}


class GrowthRow(Record):
    """Saturating fit U(N) = E(1 - exp(-N/n0)) of unique experts vs N for one model and routing."""

    model: str
    routing: str
    num_experts: int
    n0: float
    r2: float
    p: float | None = None
    slope_small_n: float | None = None
    mix_n0: float | None = None
    mix_beta: float | None = None
    mix_r2: float | None = None
    source: str = "projected"
    run_id: str | None = None


class GpuProvenance(Record):
    """Where measured numbers came from; None in the bundle when nothing was measured."""

    gpu: str
    driver: str = "unknown"
    torch: str = "unknown"
    cuda: str = ""
    date: str = ""
    git_sha: str = "unknown"
    command: str = ""

    @property
    def complete(self) -> bool:
        return all(v and v != "unknown" for v in (self.gpu, self.driver, self.torch, self.date, self.git_sha, self.command))


class ValidationRow(Record):
    """One published measurement against our model's prediction for the same setting (issue 12)."""

    model: str = Field(description="conf/model key, e.g. llada2_mini")
    setting: str = Field(description="what was varied, e.g. 'block=16'")
    n_tokens: int = Field(gt=0)
    published: float = Field(description="the paper's value")
    citation: str = Field(description="e.g. 'dMoE, arXiv 2605.30876, Table 4'")
    modelled: float = Field(description="our routing model's value for the same setting")
    error_pct: float = Field(description="(modelled - published) / published, in percent")
    used_for_fit: bool = Field(False, description="True for the calibration point(s); False for out-of-sample checks")


class SensitivityRow(Record):
    """The band over routing hypotheses at one N for one model, carried through to latency (issue 12)."""

    model: str
    n_tokens: int = Field(gt=0)
    hardware: str
    central: str = Field("calibrated", description="hypothesis the answer uses")
    experts_central: float
    experts_low: float
    experts_high: float
    hypotheses: dict[str, float] = Field(default_factory=dict, description="unique experts per hypothesis name")
    step_ms_central: float | None = None
    step_ms_low: float | None = None
    step_ms_high: float | None = None
    per_token_ms_low: float | None = None
    per_token_ms_high: float | None = None
    provenance: str = Field("modelled", description="class of the band's numbers (modelled or projected)")


class FeasibilityRow(Record):
    """Does one model fit on one GPU? If not, how many GPUs (TP/EP) it needs (issue 12)."""

    model: str
    hardware: str
    weights_gb: float
    kv_cache_gb: float = 0.0
    gpu_memory_gb: float
    fits: bool
    gpus_needed: int = Field(ge=1)
    parallelism: str = Field("none", description="'none', 'tensor' or 'expert' parallel")


class TokenLatencyRow(Record):
    """Latency per committed token: step time / tokens committed per step, from a decoding setup (issue 12)."""

    model: str
    n_tokens: int = Field(gt=0, description="tokens decoded in parallel per step (1 for autoregressive decode)")
    hardware: str
    step_ms: float
    tokens_per_step: float = Field(gt=0, description="committed tokens per step; <= 1 for an autoregressive baseline")
    tokens_per_step_low: float | None = None
    tokens_per_step_high: float | None = None
    decoding: str = Field(description="conf/decoding key(s) the committed-token figure comes from")
    per_token_ms: float
    per_token_ms_low: float | None = None
    per_token_ms_high: float | None = None
    tokens_per_s: float
    provenance: str = Field(description="'measured:<gpu>', 'projected: <rule>' or 'modelled'")


class TwoGpuRow(Record):
    """One sharded step measured on several GPUs of one host (issue 17): what sharding costs, with its collectives."""

    model: str
    n_tokens: int = Field(gt=0)
    kind: str = Field("step", description="'step' (N parallel tokens) or 'decode' (batch-1 autoregressive)")
    engine: str = Field(description="ep2_all_to_all | ep2_replicated | tp2 (tasks/gpu/parallel)")
    hardware: str = Field(description="the measured GPUs, e.g. '2xNVIDIA H200'")
    step_ms: float = Field(gt=0, description="the slower GPU's median")
    a2a_share: float | None = Field(None, description="all-to-all time / step (replayed alone)")
    comm_share: float | None = Field(None, description="all collectives / step")
    roofline_ratio: float | None = Field(None, description="max over GPUs of per-GPU roofline / step")
    results_file: str = ""


UncertaintyTopic = Literal[
    "projected", "hardware_mismatch", "synthetic_routing", "timing_noise", "unverified_claims",
    "missing_baseline", "few_papers", "snapshot_retrieval", "missing_points", "other",
]


class Uncertainty(Record):
    """One stated limitation of the draft; ``topic`` lets the SKEPTIC check that a threat is disclosed."""

    topic: UncertaintyTopic = "other"
    text: str
    added_by: str = Field("flow", description="'flow' or 'tribunal' (added by a revision round)")


class EvidenceBundle(Record):
    """Everything the draft rests on: question, literature, claims, sweep, provenance, uncertainties."""

    question: QuestionSettings
    papers: list[Paper] = Field(default_factory=list, description="kept papers")
    papers_retrieved: int = Field(0, ge=0)
    retrieval_sources: list[str] = Field(default_factory=list, description="'arxiv' (live) and/or 'snapshot'")
    index_card: IndexCard | None = None
    verifier: str = "hybrid"
    claims: list[ClaimRow] = Field(default_factory=list)
    sweep: list[SweepRow] = Field(default_factory=list)
    growth: list[GrowthRow] = Field(default_factory=list)
    gpu_provenance: GpuProvenance | None = None
    mlflow_run_id: str | None = None
    mlflow_uri: str | None = None
    uncertainties: list[Uncertainty] = Field(default_factory=list)
    validation: list[ValidationRow] = Field(default_factory=list, description="published vs modelled (issue 12)")
    sensitivity: list[SensitivityRow] = Field(default_factory=list, description="bands over routing hypotheses")
    feasibility: list[FeasibilityRow] = Field(default_factory=list, description="model x GPU memory fit")
    token_latency: list[TokenLatencyRow] = Field(default_factory=list, description="latency per committed token")
    two_gpu: list[TwoGpuRow] = Field(default_factory=list, description="sharded steps measured on several GPUs")

    @property
    def papers_kept(self) -> int:
        return len(self.papers)

    @property
    def asked(self):
        return self.question.structured

    def rows(self, model: str | None = None, n_tokens: int | None = None, hardware: str | None = None,
             measured: bool | None = None) -> list[SweepRow]:
        """Non-failed sweep rows, filtered; ``hardware`` matches by family (h100_sxm ~ 'NVIDIA H100')."""
        fam = hardware_family(hardware) if hardware else None
        return [r for r in self.sweep if not r.failed
                and (model is None or r.model == model)
                and (n_tokens is None or r.n_tokens == n_tokens)
                and (fam is None or hardware_family(r.hardware) == fam)
                and (measured is None or r.measured == measured)]

    def answer_routing(self, model: str) -> str | None:
        """The most realistic routing present for ``model`` (trace > calibrated > zipf > iid)."""
        present = {r.routing for r in self.rows(model)}
        for routing in reversed(ROUTING_REALISM):
            if routing in present:
                return routing
        return sorted(present)[0] if present else None

    def best_row(self, model: str, n_tokens: int, hardware: str | None = None) -> SweepRow | None:
        """The row the answer cites: measured over projected, then the most realistic routing."""
        rows = self.rows(model, n_tokens, hardware)
        if not rows:
            return None
        routing = self.answer_routing(model)
        rank = {r: i for i, r in enumerate(ROUTING_REALISM)}
        return max(rows, key=lambda r: (r.routing == routing, r.measured, rank.get(r.routing, -1)))

    def has_topic(self, topic: str) -> bool:
        return any(u.topic == topic for u in self.uncertainties)
