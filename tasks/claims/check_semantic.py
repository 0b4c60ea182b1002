"""Check "semantic": placeholder until the entailment model lands."""

from __future__ import annotations

from dataclasses import dataclass

from tasks.claims.align import Alignment
from tasks.claims.findings import Finding, register


@register("semantic")
@dataclass
class Semantic:
    def __call__(self, al: Alignment) -> list[Finding]:
        return []
