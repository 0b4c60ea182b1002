"""Does a typed question call for the parallel-token experiment, and which one?

A question that names a Mixture-of-Experts diffusion model we can model (conf/model), the tokens decoded in parallel ("32 vs 64
tokens", "N=64 and 128") and a dense baseline to compare with ("against Llama-2-7B") asks for the flagship's kind of
experiment on its own models. ``plan_experiment`` reads those from the text and returns the structured block and the
sweep it implies, or None (then the run stays a literature review). Names are matched without case, spaces or
punctuation ("LLaDA-MoE-7B" finds LLaDA-MoE-7B-A1B; "Llama-2-7B" never matches Llama-2-70B).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

TOKENS = re.compile(r"\b(\d{1,4})\s*(?:(?:vs\.?|versus|and|or|to|,)\s*(\d{1,4})\s*)?(?:parallel\s+|decoded\s+)?tokens?\b"
                    r"|\bN\s*=\s*(\d{1,4})(?:\s*(?:vs\.?|versus|and|or|,)\s*(?:N\s*=\s*)?(\d{1,4}))?", re.I)
METRICS = {"unique_experts": r"expert", "latency": r"latenc|\btime\b|speed|fast|slow", "memory_bandwidth_utilisation": r"bandwidth"}


@dataclass(frozen=True)
class ModelName:
    key: str
    display: str
    moe: bool
    diffusion: bool = False  # decodes a block of tokens in parallel (its conf decoding is not autoregressive)


@dataclass(frozen=True)
class ExperimentPlan:
    models: list[ModelName]
    baseline: ModelName
    tokens: list[int]
    hardware: str | None = None
    hardware_name: str | None = None
    metrics: list[str] = field(default_factory=list)
    phenomenon: str = "unique experts per step"

    def structured(self, hardware: str, hardware_name: str) -> dict:
        """The question's structured block, for the target GPU the run will use (conf/hardware key and name)."""
        hw, hw_name = hardware, hardware_name
        return {"phenomenon": self.phenomenon, "models": [m.key for m in self.models],
                "model_names": [m.display for m in self.models], "parallel_tokens": self.tokens, "hardware": hw,
                "hardware_name": hw_name, "baseline": self.baseline.key, "baseline_name": self.baseline.display,
                "metrics": self.metrics or list(METRICS)}

    def describe(self) -> str:
        where = f" on {self.hardware_name}" if self.hardware_name else ""
        return (f"{', '.join(m.display for m in self.models)} against {self.baseline.display} at N="
                f"{', '.join(map(str, self.tokens))}{where}")


def _flat(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _named(text: str, name: str) -> int:
    """Where ``name`` (or its stem before an '-A<k>B' active-parameter suffix) occurs in ``text``, ignoring case and
    punctuation, as a whole token run (not followed by another digit: Llama-2-7B is not in Llama-2-70B); -1 if not."""
    flat = _flat(text)
    for cand in (name, re.sub(r"-A\d+(?:\.\d+)?B$", "", name)):
        c = _flat(cand)
        for m in re.finditer(re.escape(c), flat):
            if len(c) >= 4 and not flat[m.end():m.end() + 1].isdigit():
                return m.start()
    return -1


def asked_tokens(text: str) -> list[int]:
    out = []
    for m in TOKENS.finditer(text):
        out += [int(g) for g in m.groups() if g]
    return sorted({n for n in out if 1 <= n <= 4096})


def plan_experiment(text: str, models: list[ModelName], hardware: dict[str, str]) -> ExperimentPlan | None:
    """The experiment the question asks for, or None when it names no MoE diffusion model, no N or no dense baseline
    (tokens decoded in parallel are a diffusion model's block; for an autoregressive MoE the sweep's N means
    something else, so its question stays a literature review)."""
    found = sorted(((_named(text, m.display), m) for m in models), key=lambda p: p[0])
    found = [m for pos, m in found if pos >= 0]
    moe = [m for m in found if m.moe and m.diffusion]
    dense = [m for m in found if not m.moe]
    tokens = asked_tokens(text)
    if not moe or not dense or not tokens:
        return None
    hw = next(((k, name) for k, name in hardware.items() if _named(text, name.split()[0]) >= 0), (None, None))
    metrics = [k for k, pat in METRICS.items() if re.search(pat, text, re.I)]
    phenomenon = "expert explosion" if re.search(r"expert explosion", text, re.I) else "unique experts per step"
    return ExperimentPlan(models=moe, baseline=dense[0], tokens=tokens, hardware=hw[0], hardware_name=hw[1],
                          metrics=metrics, phenomenon=phenomenon)
