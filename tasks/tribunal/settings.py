"""Typed settings of the ``tribunal`` config group (conf/tribunal/*.yaml)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoleWeights(_Strict):
    """Weights of the aggregate score: aggregate = sum(w_role * score_role) / sum(w_role)."""

    skeptic: float = Field(0.4, ge=0)
    validator: float = Field(0.4, ge=0)
    synthesizer: float = Field(0.2, ge=0)

    @model_validator(mode="after")
    def _not_all_zero(self) -> "RoleWeights":
        if self.skeptic + self.validator + self.synthesizer <= 0:
            raise ValueError("tribunal.weights: at least one of skeptic, validator, synthesizer must be > 0")
        return self

    def of(self, role: str) -> float:
        return float(getattr(self, role))


class TribunalLlmSettings(_Strict):
    """How the ``llm`` backend uses the chat model; the model itself comes from the ``llm`` config group."""

    settings_group: str = Field("llm", description="top-level config group with the chat-model settings (tasks/llm)")
    retries: int = Field(1, ge=0, le=3, description="re-asks after malformed structured output, then rubric fallback")
    max_score_shift: float = Field(
        2.0, ge=0, le=10, description="an LLM score may differ from the deterministic rubric score by at most this"
    )
    max_paper_chars: int = Field(600, ge=0, description="characters of each untrusted abstract shown to the model")
    max_papers: int = Field(8, ge=0)
    max_claims: int = Field(20, ge=0)


class SubstanceSettings(_Strict):
    """The substance checks (tasks/tribunal/checks): critical rubric items of the SKEPTIC and VALIDATOR."""

    enabled: bool = True
    disabled: list[str] = Field(default_factory=list, description="check keys to leave out (ablations)")
    rel_tol: float = Field(0.002, ge=0, le=0.2, description="relative tolerance when tracing a printed number to the bundle")


class TribunalSettings(_Strict):
    """Three reviewers, a revision loop below ``threshold`` and the ACCEPT / ESCALATE_TO_OWNER policy."""

    backend: Literal["rubric", "llm"] = "rubric"
    threshold: float = Field(6.5, ge=0, le=10, description="aggregate >= threshold is needed to ACCEPT")
    max_rounds: int = Field(2, ge=0, le=10, description="revision rounds after the first review")
    weights: RoleWeights = RoleWeights()
    min_papers: int = Field(5, ge=0, description="SKEPTIC: fewer kept papers than this is a threat")
    max_timing_spread: float = Field(0.05, ge=0, description="SKEPTIC: repeat spread above this (fraction) is noise")
    min_verified_fraction: float = Field(0.5, ge=0, le=1, description="VALIDATOR: share of claims with a verdict other than NOT_ENOUGH_INFO")
    min_scaling_points: int = Field(3, ge=2, description="VALIDATOR: distinct N needed to speak of scaling")
    max_answer_sentences: int = Field(6, ge=1)
    llm: TribunalLlmSettings = TribunalLlmSettings()
    substance: SubstanceSettings = SubstanceSettings()
