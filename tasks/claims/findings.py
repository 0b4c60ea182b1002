"""Typed findings of the claim checks, the check registry, and the one function that turns findings into a verdict."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from tasks.claims.align import Alignment

FindingKind = Literal["support", "contradict", "gap", "settle", "states"]
Label = Literal["SUPPORTED", "CONTRADICTED", "NOT_ENOUGH_INFO"]


@dataclass(frozen=True)
class Finding:
    """What one check found about one part of a claim.

    kind: ``support`` (this part is borne out), ``contradict`` (the aligned evidence says otherwise) or
        ``gap`` (this part is required for support but nothing aligned settles it) or ``settle`` (a learned
        reader bears the whole claim out: it settles gaps, it never outweighs a contradiction) or ``states`` (the
        evidence says the claim word for word: nothing outweighs it).
    strength: how sure the check is, in [0, 1]; by default the retrieval cosine of the evidence chunk
        that decided it (a measured quantity, not a tuned constant), or 0.5 when nothing was retrieved.
    """

    check: str
    kind: FindingKind
    detail: str
    chunk_id: str | None = None
    strength: float = 0.5


class Check(Protocol):
    """One concern of the verdict (numbers, polarity, attribution, ...): findings from an alignment."""

    name: str

    def __call__(self, al: Alignment) -> list[Finding]: ...


REGISTRY: dict[str, Callable[..., Check]] = {}


def register(name: str):
    """Class decorator: add a check factory to the registry under ``name`` (its order is the run order)."""
    def wrap(cls):
        cls.name = name
        REGISTRY[name] = cls
        return cls
    return wrap


def decide(findings: list[Finding]) -> tuple[Label, float, str]:
    """Findings -> (label, confidence, rationale).

    - A ``states`` finding -> SUPPORTED: a text cannot contradict itself.
    - Any ``contradict`` -> CONTRADICTED; confidence is the strongest contradiction's strength.
    - Else at least one ``support`` and no ``gap`` -> SUPPORTED; confidence is the weakest support's
      strength (a claim is only as sure as its least-settled part).
    - Else a ``settle`` finding -> SUPPORTED; confidence is its strength (the reader's probability).
    - Else NOT_ENOUGH_INFO; confidence 1 minus the strongest support (partial support makes "not enough"
      less certain), or 0.5 when nothing supports it.
    Confidences are clipped to [0.05, 0.95]: no retrieval cosine makes a verdict certain.
    """
    clip = lambda x: round(min(0.95, max(0.05, x)), 3)  # noqa: E731
    contra = [f for f in findings if f.kind == "contradict"]
    support = [f for f in findings if f.kind == "support"]
    gaps = [f for f in findings if f.kind == "gap"]
    settle = [f for f in findings if f.kind == "settle"]
    states = [f for f in findings if f.kind == "states"]
    if states:
        return "SUPPORTED", clip(states[0].strength), f"[{states[0].check}] {states[0].detail}"
    if contra:
        return "CONTRADICTED", clip(max(f.strength for f in contra)), "; ".join(f"[{f.check}] {f.detail}" for f in contra)
    if support and not gaps:
        return "SUPPORTED", clip(min(f.strength for f in support)), "; ".join(f"[{f.check}] {f.detail}" for f in support)
    if settle:
        best = max(settle, key=lambda f: f.strength)
        return "SUPPORTED", clip(best.strength), "; ".join(f"[{f.check}] {f.detail}" for f in [best] + gaps)
    confidence = 1 - max(f.strength for f in support) if support else 0.5
    why = "; ".join(f"[{f.check}] {f.detail}" for f in gaps + support) or "no check found support"
    return "NOT_ENOUGH_INFO", clip(confidence), why
