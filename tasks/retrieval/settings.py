"""Settings of the relevance stage (conf/relevance)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class RelevanceSettings(BaseModel):
    """``relevance=hybrid`` (default) or ``relevance=tfidf_seed`` (the seed's TF-IDF >= retrieval.relevance_threshold)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    method: Literal["hybrid", "tfidf_seed"] = "hybrid"
    min_keep: int = Field(3, ge=0, description="the best few papers are always kept")
    neighbours: int = Field(5, ge=0, description="score smoothing over the k most similar retrieved papers")
    neighbour_weight: float = Field(0.3, ge=0, le=1)
