"""The learned decision: the checks' findings and the cross-encoder's reading -> a verdict and a confidence.

``findings.decide`` turns findings into a verdict by a fixed order (a contradiction beats support, a gap leaves the
claim open). That order cannot weigh a weak contradiction against a cross-encoder that reads the claim as an unrelated
setting, or a number gap against strong support everywhere else. This module weighs them with a multinomial logistic
regression over a few named features of one claim (:func:`features`):

- the rules' verdict (``decide``), one-hot;
- per check, how many ``support``, ``contradict`` and ``gap`` findings it returned (capped at 2);
- the strongest contradiction and the weakest support (retrieval cosines), and how many numbers the claim states;
- the cross-encoder's three class probabilities for the claim read against its best paper.

The weights ship as data (``tasks/claims/data/decision.json``, with the command, files and score they came from) and
are fitted by ``python -m tasks.claims.decision_fit`` on labelled probe files the cross-encoder never saw, so its
probabilities there are honest. A ``states`` finding (the evidence says the claim word for word) still decides alone.
When the weights or the cross-encoder cannot load, the verifier falls back to ``decide`` with a warning.

It is the default (``verifier.decision=learned``; ``rules`` is the fixed order). Leaving one file out it gained 2
points over ``decide`` (799 -> 814 of 920 claims); on the six fresh probes scored with it frozen next (35-40) it lost
3 claims of 240, on the ten after (41-50) it gained 14 and lost on none of 44-50, and on probes 51-62 (round 16's
rules from 54 on) it nets 0 (tests/claims/data/SCORES.md). A refit on the newer probes is the next step.
"""

from __future__ import annotations

import functools
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path

from tasks.claims.findings import Finding

log = logging.getLogger("sovereign.claims")

CLASSES = ("SUPPORTED", "CONTRADICTED", "NOT_ENOUGH_INFO")
KINDS = ("support", "contradict", "gap")
WEIGHTS = Path(__file__).parent / "data" / "decision.json"


def features(findings: list[Finding], rule_label: str, probs: tuple[float, float, float], n_numbers: int) -> dict[str, float]:
    """The named features of one claim (absent names read as 0: a check left out of an ablation adds nothing)."""
    out = {f"rule={c}": float(rule_label == c) for c in CLASSES}
    out |= {f"p={c}": float(p) for c, p in zip(CLASSES, probs)}
    for f in findings:
        if f.kind in KINDS:
            key = f"{f.check}:{f.kind}"
            out[key] = min(2.0, out.get(key, 0.0) + 1.0)
    out["max_contradict"] = max((f.strength for f in findings if f.kind == "contradict"), default=0.0)
    out["min_support"] = min((f.strength for f in findings if f.kind == "support"), default=0.0)
    out["n_numbers"] = float(min(n_numbers, 4))
    return out


@dataclass(frozen=True)
class Decision:
    """A fitted multinomial logistic regression over named features (rows of ``coef`` follow ``classes``)."""

    names: tuple[str, ...]
    coef: tuple[tuple[float, ...], ...]
    intercept: tuple[float, ...]
    classes: tuple[str, ...] = CLASSES

    def probabilities(self, feats: dict[str, float]) -> dict[str, float]:
        x = [feats.get(n, 0.0) for n in self.names]
        logits = [b + sum(w * v for w, v in zip(row, x)) for row, b in zip(self.coef, self.intercept)]
        top = max(logits)
        exp = [math.exp(z - top) for z in logits]
        return {c: e / sum(exp) for c, e in zip(self.classes, exp)}

    def __call__(self, feats: dict[str, float]) -> tuple[str, float]:
        probs = self.probabilities(feats)
        label = max(probs, key=probs.get)
        return label, round(min(0.95, max(0.05, probs[label])), 3)

    def to_json(self) -> dict:
        return {"classes": list(self.classes), "names": list(self.names), "coef": [list(r) for r in self.coef],
                "intercept": list(self.intercept)}

    @classmethod
    def from_json(cls, data: dict) -> "Decision":
        names, coef, intercept = tuple(data["names"]), tuple(tuple(map(float, r)) for r in data["coef"]), tuple(
            map(float, data["intercept"]))
        classes = tuple(data.get("classes", CLASSES))
        if len(coef) != len(classes) or len(intercept) != len(classes) or any(len(r) != len(names) for r in coef):
            raise ValueError("decision weights: coef must be one row per class with one weight per feature name")
        return cls(names=names, coef=coef, intercept=intercept, classes=classes)


@functools.cache
def load_decision(path: Path = WEIGHTS) -> Decision | None:
    """The shipped weights, or None (with a warning naming the fix) when they are missing or malformed."""
    try:
        return Decision.from_json(json.loads(Path(path).read_text()))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("the learned claim decision is off (%s: %s); verdicts follow the fixed order of "
                    "tasks/claims/findings.decide. Refit with: python -m tasks.claims.decision_fit", type(exc).__name__, exc)
        return None


def cross_encoder_probs(claim: str, premise: str) -> tuple[float, float, float] | None:
    """The cross-encoder's (SUPPORTED, CONTRADICTED, NOT_ENOUGH_INFO) probabilities, or None when it cannot load."""
    if not premise:
        return (0.0, 0.0, 1.0)
    try:
        from tasks.claims.cross_encoder import class_probabilities

        return class_probabilities(claim, premise)
    except (ImportError, OSError, RuntimeError, ValueError) as exc:
        log.warning("the learned claim decision is off: the cross-encoder could not load (%s: %s); reinstall with: "
                    "pip install -e .", type(exc).__name__, exc)
        return None
