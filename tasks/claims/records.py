"""Typed records of the claims stage: chunks -> claims -> verdicts (and sweep facts -> verdicts)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from tasks.records import Record

ClaimType = Literal["numeric", "comparative", "setup", "scaling", "qualitative"]
EntityKind = Literal["model", "baseline", "dataset", "hardware", "metric"]
NumberKind = Literal[
    "multiple", "percent", "fraction", "count", "params", "tokens", "throughput", "flops",
    "bandwidth", "bytes", "time", "hardware_count", "plain",
]
Label = Literal["SUPPORTED", "CONTRADICTED", "NOT_ENOUGH_INFO"]
LABELS: tuple[str, ...] = ("SUPPORTED", "CONTRADICTED", "NOT_ENOUGH_INFO")
Bound = Literal["exact", "approx", "lower", "upper", "below", "strict"]


class Quantity(Record):
    """A number normalised to base units: "5.86x" == "5.86 times", "38%" -> 0.38, "1.4B" -> 1.4e9."""

    value: float = Field(description="normalised value; percentages are fractions, sizes are absolute")
    high: float | None = Field(default=None, description="upper end when the text gives a range (2-4x)")
    unit: str = Field(default="", description="canonical unit: x, %, tokens/s, FLOP/s, B/s, B, s, or '' for counts")
    kind: NumberKind = "plain"
    bound: Bound = Field(default="exact", description="'up to' is upper (near the bound), 'less than' is below (any smaller value), 'more than' is lower")
    text: str = Field(description="the surface form, e.g. '5.86×'")
    span: tuple[int, int] = Field(description="character span in the text it was parsed from")
    metrics: tuple[str, ...] = Field(default=(), description="what it measures, e.g. ('latency',)")
    direction: Literal["up", "down"] | None = Field(default=None, description="increase or decrease word near it")


class Entity(Record):
    """A named thing in a claim or evidence sentence."""

    kind: EntityKind
    name: str
    span: tuple[int, int]
    value: float | None = Field(default=None, description="e.g. the GPU count of '8x H800'")
    unit: str | None = Field(default=None, description="e.g. 'GB' for 'A100 80GB'")


class Claim(Record):
    """One checkable statement, with where it came from and what it names."""

    claim_id: str
    text: str
    source_id: str | None = Field(default=None, description="arxiv id of the paper it was extracted from")
    span: tuple[int, int] | None = Field(default=None, description="character span in Paper.text (title + '. ' + abstract)")
    type: ClaimType = "qualitative"
    entities: list[Entity] = Field(default_factory=list)
    numbers: list[Quantity] = Field(default_factory=list)
    confidence: float = Field(default=1.0, ge=0.0, le=1.0, description="extraction confidence")
    extractor: str = "rules"


class Evidence(Record):
    """One retrieved evidence span that a verdict rests on."""

    paper_id: str
    chunk_id: str
    text: str
    score: float
    is_claim_source: bool = False


class Verdict(Record):
    """The outcome of checking one claim, from one verifier."""

    claim_id: str
    claim_text: str = ""
    label: Label
    confidence: float = Field(ge=0.0, le=1.0)
    verifier: str
    evidence: list[Evidence] = Field(default_factory=list)
    rationale: str = ""
    failed: bool = Field(default=False, description="the verifier errored; label is NOT_ENOUGH_INFO")
    # Independence: whose evidence decided a SUPPORTED label. A sentence of the claim's own paper never
    # corroborates it (that paper may say anything about itself, including injected text).
    faithful: bool | None = Field(default=None, description="SUPPORTED by the claim's own paper (None: source unknown)")
    corroborated: bool = Field(default=False, description="SUPPORTED by evidence from papers other than the claim's own")
    # Empirical verdicts only: which of our numbers settled it.
    metric: str | None = None
    our_value: float | None = None
    source: Literal["measured", "projected", "modelled", "published"] | None = None
    run_id: str | None = None
    run_link: str | None = None


class EmpiricalFact(Record):
    """One of our own numbers from the sweep, with the run that produced it.

    ``metric`` is e.g. ``unique_experts_mean``, ``step_ms`` or ``bandwidth_utilisation`` (a fraction).
    """

    metric: str
    model: str
    n_tokens: int | None = Field(default=None, description="tokens decoded in parallel at this point")
    value: float
    unit: str = ""
    source: str = Field(description="'measured:<gpu>', 'modelled' (routing/roofline model) or 'projected' (legacy: read as modelled)")
    run_id: str
    run_link: str | None = None

    @field_validator("source")
    @classmethod
    def _source_is_known(cls, value: str) -> str:
        if value not in ("projected", "modelled") and not value.startswith("measured:"):
            raise ValueError("EmpiricalFact.source must be 'modelled', 'projected' or 'measured:<gpu>'")
        return value

    @property
    def origin(self) -> Literal["measured", "projected", "modelled"]:
        return "measured" if self.source.startswith("measured:") else self.source  # type: ignore[return-value]


class GrowthFit(Record):
    """Power-law fit U(n) = a * n**exponent of a metric against parallel tokens, over [n_min, n_max]."""

    metric: str
    model: str
    n_min: int
    n_max: int
    points: int
    exponent: float = Field(description="log-log slope; 1.0 is linear growth")
    r2: float
    ratio: float = Field(description="U(n_max) / U(n_min)")
    source: str
    run_id: str
    run_link: str | None = None
