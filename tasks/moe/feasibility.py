"""Does a model fit on a GPU? Weights plus KV cache against the GPU's memory, and how many GPUs it needs.

Rule (stated in the report): a model fits on ``g`` GPUs when weights + KV cache <= g x GPU memory, with the KV
cache of one sequence (prefix + N tokens, batch 1, bf16). ``g`` is the smallest count that fits and divides the
attention-head count (tensor parallel) and, for an MoE model, the routed-expert count (expert parallel), so that
the split is even. A step time on ``g`` GPUs is projected as (one-GPU time) / g: each GPU streams 1/g of the
bytes; communication is ignored, so the projection is a lower bound on the time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tasks.moe.hardware import HardwareSpec
from tasks.moe.specs import ModelSpec

MAX_GPUS = 64


@dataclass(frozen=True)
class Feasibility:
    model: str
    hardware: str
    weights_gb: float
    kv_cache_gb: float
    gpu_memory_gb: float
    fits: bool
    gpus_needed: int
    parallelism: str  # 'none' | 'tensor' | 'expert'


def weights_bytes(spec: ModelSpec) -> float:
    return float(spec.total_params()) * spec.bytes_per_param


def kv_cache_bytes(spec: ModelSpec, context_tokens: int) -> float:
    """K and V of every layer for ``context_tokens`` tokens of one sequence."""
    return float(context_tokens) * spec.num_layers * 2 * spec.num_kv_heads * spec.head_dim * spec.bytes_per_param


def _divides(spec: ModelSpec, g: int) -> bool:
    if spec.num_heads % g:
        return False
    return spec.family == "dense" or not spec.num_experts or spec.num_experts % g == 0


def gpus_needed(need_bytes: float, memory_bytes: float, spec: ModelSpec) -> int:
    """Smallest even split (see module doc) whose combined memory holds ``need_bytes``."""
    g = max(1, math.ceil(need_bytes / memory_bytes))
    while g <= MAX_GPUS and not _divides(spec, g):
        g += 1
    if g > MAX_GPUS:
        raise ValueError(f"{spec.name} needs more than {MAX_GPUS} GPUs of {memory_bytes / 1e9:.0f} GB; check the model spec")
    return g


def check_fit(spec: ModelSpec, hw: HardwareSpec, context_tokens: int) -> Feasibility:
    """Weights + KV cache of ``spec`` at ``context_tokens`` tokens against ``hw``'s memory."""
    w, kv = weights_bytes(spec), kv_cache_bytes(spec, context_tokens)
    g = gpus_needed(w + kv, hw.memory_bytes, spec)
    par = "none" if g == 1 else ("tensor" if spec.family == "dense" else "expert")
    return Feasibility(spec.name, hw.name, w / 1e9, kv / 1e9, hw.memory_bytes / 1e9, g == 1, g, par)


def split_ms(one_gpu_ms: float, gpus: int) -> float:
    """Ideal split of a memory-bound step over ``gpus`` GPUs (communication ignored: a lower bound)."""
    return one_gpu_ms / max(1, gpus)
