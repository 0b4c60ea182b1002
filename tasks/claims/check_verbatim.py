"""Check "verbatim": evidence that states the claim word for word bears it out.

A claim extracted from an abstract is that abstract's sentence. The other checks read it against the same chunk
and can misread it (a listed number taken for another slot, a belief the paper reports and then refutes taken as
asserted), yet a text cannot contradict itself. A ``states`` finding makes ``decide`` return SUPPORTED whatever
else was found. Paraphrases never trigger it, so on the labelled probes its ablation is +0.0; it exists for the
flow's faithfulness verdicts (a claim read against its own paper).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tasks.claims.align import Alignment
from tasks.claims.findings import Finding, register


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


@register("verbatim")
@dataclass
class Verbatim:
    min_chars: int = 40  # a short phrase ("it is fast.") found in a chunk says nothing about the claim

    def __call__(self, al: Alignment) -> list[Finding]:
        said = _norm(al.claim.text).rstrip(".")
        if len(said) < self.min_chars:
            return []
        for hit in al.hits:
            if said in _norm(hit.chunk.text):
                return [Finding(self.name, "states", f"{hit.chunk.chunk_id} states the claim word for word",
                                hit.chunk.chunk_id, float(hit.score))]
        return []
