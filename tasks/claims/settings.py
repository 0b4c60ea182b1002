"""Typed settings of the claims stage, built once at the entry point from conf/verifier/*.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

VERIFIERS = ("tfidf", "hybrid", "llm")


class VerifierSettings(BaseModel):
    """conf/verifier/<name>.yaml: which verifier, how much evidence, and the extractor to use."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Literal["tfidf", "hybrid", "llm"] = "hybrid"
    k: int = Field(default=8, ge=1, description="evidence chunks retrieved per claim")
    extractor: Literal["rules", "llm"] = "rules"
    tfidf_threshold: float = 0.15
    support_similarity: float = 0.5
    min_coverage: float = 0.6
    rel_tol: float = 0.02
    approx_tol: float = 0.06
    llm_config: str | None = Field(default=None, description="path of conf/llm/<provider>.yaml for verifier=llm")
    fallback: Literal["hybrid", "none"] = "hybrid"
    decision: Literal["learned", "rules"] = Field(default="learned", description="hybrid: how findings become a verdict: "
                                                  "the learned weights (tasks/claims/decision.py) or the fixed order")
    checks: tuple[str, ...] | None = Field(default=None, description="hybrid: registered checks to run (None: the "
                                           "defaults in tasks/claims/hybrid.py); the eval command ablates them")

    @field_validator("name", mode="before")
    @classmethod
    def _known(cls, value):
        if value not in VERIFIERS:
            raise ValueError(f"verifier.name={value!r} is unknown; choose one of: {', '.join(VERIFIERS)}")
        return value

    @classmethod
    def from_yaml(cls, path: str | Path) -> "VerifierSettings":
        return cls(**(yaml.safe_load(Path(path).read_text()) or {}))
