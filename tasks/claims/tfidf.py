"""The seed's verifier, kept as the baseline: TF-IDF (1,2)-gram cosine >= 0.15 counts as verified."""

from __future__ import annotations

from dataclasses import dataclass

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import cosine_similarity

from tasks.claims.base import Retrieve, as_claim, no_evidence, safe_retrieve, to_evidence
from tasks.claims.records import Claim, Verdict


@dataclass
class TfidfVerifier:
    """SUPPORTED when the best evidence chunk's TF-IDF cosine to the claim reaches ``threshold``, else NEI."""

    threshold: float = 0.15
    k: int = 8
    name: str = "tfidf"

    def verify(self, claim: Claim | str, retrieve: Retrieve, source_id: str | None = None) -> Verdict:
        claim = as_claim(claim, source_id)
        hits, error = safe_retrieve(retrieve, claim.text, self.k)
        if not hits:
            return no_evidence(claim, self.name, error)
        texts = [h.chunk.text for h in hits]
        matrix = TfidfVectorizer(ngram_range=(1, 2)).fit_transform([claim.text, *texts])
        sims = cosine_similarity(matrix[0], matrix[1:])[0]
        best = int(sims.argmax())
        supported = sims[best] >= self.threshold
        return Verdict(
            claim_id=claim.claim_id, claim_text=claim.text,
            label="SUPPORTED" if supported else "NOT_ENOUGH_INFO",
            confidence=round(float(min(1.0, sims[best])), 4), verifier=self.name,
            evidence=to_evidence([hits[best]], source_id or claim.source_id),
            rationale=f"max TF-IDF (1,2)-gram cosine {sims[best]:.3f} {'>=' if supported else '<'} {self.threshold}",
        )
