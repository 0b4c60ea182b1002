"""Typed records that flow between the literature stages.

question -> queries -> papers -> chunks -> index. Later stages (claims, sweep,
tribunal, report) keep their own records next to their logic.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Source = Literal["arxiv", "snapshot"]


class Record(BaseModel):
    """Base for every record: immutable and strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Query(Record):
    """One search query derived from the research question."""

    text: str
    origin: str = Field(description="which part of the question produced it")


# New-style (2602.00879) and old-style (hep-th/9901001, math.GT/0309136) arXiv ids. The id is printed into the
# HTML report and the LLM prompts, so anything else (quotes, tags) is rejected where a paper is read.
ARXIV_ID = r"^(\d{4}\.\d{4,5}|[a-z][a-z\-]*(\.[A-Z]{2})?/\d{7})$"


class Paper(Record):
    """One paper, normalised from the arXiv API or a Kaggle-format snapshot line."""

    arxiv_id: str = Field(pattern=ARXIV_ID, description="bare id without version, e.g. 2602.00879 or hep-th/9901001")
    version: int = 1
    title: str
    abstract: str
    authors: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    published: str | None = Field(default=None, description="ISO date of the first version")
    updated: str | None = Field(default=None, description="ISO date of the newest version")
    source: Source = "snapshot"
    search_score: float = Field(default=0.0, description="score from the search backend")
    matched_queries: list[str] = Field(default_factory=list)
    relevance: float | None = Field(default=None, description="the relevance method's score (tfidf_seed: TF-IDF cosine to the question)")
    semantic: float | None = Field(default=None, description="embedding cosine to the question")

    @property
    def url(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv_id}"

    @property
    def text(self) -> str:
        return f"{self.title}. {self.abstract}"


class SearchResult(Record):
    """What one query returned, and which backend served it."""

    query: Query
    papers: list[Paper]
    source: Source
    error: str | None = Field(default=None, description="why the live API was not used")
    seconds: float = 0.0


class RelevanceDecision(Record):
    """A paper's relevance scores and whether the filter kept it."""

    paper: Paper
    kept: bool
    reason: str
    method: str = Field(default="tfidf_seed", description="the relevance method that decided (conf/relevance)")
    scores: dict[str, float] = Field(default_factory=dict, description="every signal the method computed for this paper")


class Chunk(Record):
    """A slice of a paper's text that is embedded and indexed."""

    chunk_id: str = Field(description="'<arxiv_id>#<n>'")
    arxiv_id: str
    title: str
    text: str
    start: int = Field(description="character offset in the paper's title+abstract text")
    end: int


class ChunkHit(Record):
    """A chunk returned by an index query, with its cosine score."""

    chunk: Chunk
    score: float


class IndexCard(Record):
    """Describes a FAISS index on disk so that it can be trusted and reused."""

    embedder: str
    dimension: int
    vectors: int
    metric: Literal["cosine"] = "cosine"
    index_type: str = "IndexFlatIP"
    paper_ids_sha256: str
    chunking: dict[str, int]
    built_at: str = Field(default_factory=lambda: datetime.now(timezone.utc).isoformat())
    build_seconds: float = 0.0
