"""Typed records of the tribunal: rubric items, revisions, rulings, rounds, the policy and the outcome."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from tasks.records import Record
from tasks.tribunal.bundle import EvidenceBundle

Role = Literal["skeptic", "validator", "synthesizer"]
ROLES: tuple[Role, ...] = ("skeptic", "validator", "synthesizer")
RevisionKind = Literal["drop_claims", "soften_claims", "add_uncertainty", "add_points", "manual"]
Decision = Literal["ACCEPT", "ESCALATE_TO_OWNER"]
OWNER_REVIEW = "Autonomous draft — owner review required"


class RubricItem(Record):
    """One check of a role's rubric: pass or fail, with the evidence (numbers and their source)."""

    key: str
    question: str = Field(description="what the item checks, in words")
    passed: bool
    evidence: str
    weight: float = Field(1.0, ge=0)
    critical: bool = Field(False, description="a failed critical item escalates regardless of the score")


class PointRequest(Record):
    """A sweep point the VALIDATOR wants added (served by the flow's ``add_points`` callback)."""

    model: str
    routing: str
    n_tokens: int = Field(gt=0)


class Revision(Record):
    """A required revision; automatable ones are applied by the revision round."""

    kind: RevisionKind
    text: str
    automatable: bool = True
    claim_ids: list[str] = Field(default_factory=list)
    topic: str | None = Field(None, description="uncertainty topic for add_uncertainty")
    statement: str | None = Field(None, description="uncertainty text for add_uncertainty")
    points: list[PointRequest] = Field(default_factory=list)
    raised_by: str = ""

    @property
    def key(self) -> tuple:
        return (self.kind, tuple(sorted(self.claim_ids)), self.topic, tuple(sorted((p.model, p.routing, p.n_tokens) for p in self.points)),
                self.text if self.kind == "manual" else "")


class Ruling(Record):
    """What one role concluded about one version of the draft."""

    role: Role
    score: float = Field(ge=0, le=10)
    items: list[RubricItem] = Field(default_factory=list)
    findings: list[str] = Field(default_factory=list)
    revisions: list[Revision] = Field(default_factory=list)
    answer: str | None = Field(None, description="SYNTHESIZER only: the answer in a few sentences")
    backend: str = "rubric"
    warnings: list[str] = Field(default_factory=list)

    @property
    def failed_critical(self) -> list[RubricItem]:
        return [i for i in self.items if i.critical and not i.passed]


class RoundRecord(Record):
    """One review round: the three rulings, their aggregate and the revisions applied after it."""

    round: int
    rulings: list[Ruling]
    aggregate: float
    merged_revisions: list[Revision] = Field(default_factory=list, description="the SYNTHESIZER's merged list")
    applied: list[Revision] = Field(default_factory=list, description="revisions applied after this round")
    skipped: list[str] = Field(default_factory=list, description="revisions that could not be applied, and why")

    def score(self, role: str) -> float:
        return next(r.score for r in self.rulings if r.role == role)

    def metrics(self) -> dict[str, float]:
        """MLflow metrics of this round (logged with step=round)."""
        out: dict[str, Any] = {f"tribunal.{r.role}": r.score for r in self.rulings}
        return out | {"tribunal.aggregate": self.aggregate, "tribunal.revisions_applied": float(len(self.applied))}


class Policy(Record):
    """The final decision; ACCEPT still leaves the draft marked for owner review."""

    decision: Decision
    reasons: list[str] = Field(default_factory=list)
    threshold: float
    aggregate: float
    rounds: int = Field(description="revision rounds that ran")
    banner: str = OWNER_REVIEW


class TribunalOutcome(Record):
    """Everything the tribunal produced: rounds, the revised bundle, the answer and the policy."""

    rounds: list[RoundRecord]
    policy: Policy
    answer: str
    revisions_applied: int
    warnings: list[str] = Field(default_factory=list)
    backend: str = "rubric"
    bundle: EvidenceBundle = Field(description="the revised bundle the report is written from")

    @property
    def initial(self) -> RoundRecord:
        return self.rounds[0]

    @property
    def final(self) -> RoundRecord:
        return self.rounds[-1]
