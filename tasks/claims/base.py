"""The verifier interface and the evidence records every verifier builds from retrieval hits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from tasks.claims.extract import claim_from_text
from tasks.claims.records import Claim, Evidence, Verdict
from tasks.records import ChunkHit

Retrieve = Callable[[str, int], list[ChunkHit]]


class Verifier(Protocol):
    name: str

    def verify(self, claim: Claim | str, retrieve: Retrieve, source_id: str | None = None) -> Verdict:
        """Judge one claim against evidence from ``retrieve(text, k)``; never raises."""


def as_claim(claim: Claim | str, source_id: str | None = None) -> Claim:
    if isinstance(claim, Claim):
        return claim
    return claim_from_text(claim, source_id=source_id)


def to_evidence(hits: list[ChunkHit], source_id: str | None) -> list[Evidence]:
    """Evidence records for hits, best first, with the claim's own paper marked."""
    return [
        Evidence(paper_id=h.chunk.arxiv_id, chunk_id=h.chunk.chunk_id, text=h.chunk.text,
                 score=round(float(h.score), 4), is_claim_source=source_id is not None and h.chunk.arxiv_id == source_id)
        for h in hits
    ]


def safe_retrieve(retrieve: Retrieve, text: str, k: int) -> tuple[list[ChunkHit], str | None]:
    """Call the retriever; an error becomes an empty result plus its reason (the claim goes on)."""
    try:
        return list(retrieve(text, k) or []), None
    except Exception as exc:  # noqa: BLE001 - one failed lookup must not stop the run
        return [], f"retrieval failed: {type(exc).__name__}: {exc}"


def no_evidence(claim: Claim, verifier: str, reason: str | None) -> Verdict:
    return Verdict(claim_id=claim.claim_id, claim_text=claim.text, label="NOT_ENOUGH_INFO", confidence=0.5,
                   verifier=verifier, evidence=[], rationale=reason or "no evidence retrieved", failed=reason is not None)
