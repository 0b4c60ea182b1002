"""Sensitivity of unique experts (and so of step latency) to the routing hypothesis at N parallel tokens.

The calibrated router is fitted at block 32 (dMoE); at N=64 or 128 nobody has measured how real routing
behaves, so the answer is a band over hypotheses:

- ``one block of N``: the N tokens share one block's concentration (the calibrated router at N; the central value);
- ``blocks of 32``: ceil(N/32) independent blocks of 32, each with the calibrated count U32 at block 32, their
  expert sets independent: E(1 - (1 - U32/E)^ceil(N/32));
- ``iid``: every token routes independently, E(1 - (1 - k/E)^N): the upper bound.

The band is [min, max] of the first two; i.i.d. is reported beside it as the bound. Each hypothesis's count
goes through the byte model (tasks.moe.step_model) so the band carries to bytes, step time and per-token latency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from tasks.moe.specs import ModelSpec
from tasks.moe.stats import iid_expected_unique
from tasks.moe.step_model import StepSetup, step_cost

BLOCK = 32  # the calibrated block length (dMoE's published point)
HYPOTHESES = ("one block of N", "blocks of 32", "iid")


@dataclass(frozen=True)
class Band:
    model: str
    n_tokens: int
    experts: dict[str, float]            # hypothesis -> unique experts per MoE layer
    bytes: dict[str, float] = field(default_factory=dict)  # hypothesis -> bytes per step

    @property
    def low(self) -> float:
        return min(self.experts["one block of N"], self.experts["blocks of 32"])

    @property
    def high(self) -> float:
        return max(self.experts["one block of N"], self.experts["blocks of 32"])

    def bytes_low_high(self) -> tuple[float, float]:
        pair = [self.bytes["one block of N"], self.bytes["blocks of 32"]]
        return min(pair), max(pair)


def blocks_of(n_tokens: int, num_experts: int, unique_at_block: float, block: int = BLOCK) -> float:
    """Expected union of ceil(N/block) independent expert sets of size ``unique_at_block`` each (N <= block: one set)."""
    blocks = math.ceil(n_tokens / block)
    if blocks <= 1:
        return float(unique_at_block) if n_tokens == block else float("nan")
    return num_experts * (1.0 - (1.0 - unique_at_block / num_experts) ** blocks)


def band(spec: ModelSpec, setup: StepSetup, unique_one_block: float, unique_at_32: float) -> Band:
    """The hypotheses' counts at ``setup.block_len`` and their bytes per step.

    Args:
        spec: an MoE model.
        setup: the step (N, prefix, committed tokens, KV cache).
        unique_one_block: the calibrated router's count when all N tokens form one block (modelled).
        unique_at_32: the calibrated router's count at block 32 (modelled; fitted to the published ~70 for LLaDA2.0-mini).
    """
    if spec.family == "dense" or not spec.num_experts:
        raise ValueError(f"{spec.name} is dense: routing hypotheses do not apply")
    n = setup.block_len
    blocks = blocks_of(n, spec.num_experts, unique_at_32) if n > BLOCK else unique_one_block
    experts = {"one block of N": float(unique_one_block), "blocks of 32": float(blocks),
               "iid": iid_expected_unique(spec.num_experts, spec.top_k, n)}
    return Band(spec.name, n, experts, {h: step_cost(spec, setup, u).total_bytes for h, u in experts.items()})


def scale_ms(central_ms: float, central_bytes: float, hyp_bytes: float) -> float:
    """A step time under another hypothesis: the extra (or fewer) bytes move at the point's own effective rate
    (central bytes / central ms); for a roofline row this is exactly the roofline of the other byte count."""
    return central_ms + central_ms * (hyp_bytes - central_bytes) / central_bytes
