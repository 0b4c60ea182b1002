"""Per-GPU bytes of a sharded step, from the tasks.moe byte model, and the H100-count projection.

Per rank r of W (tasks/moe/step_model.step_cost terms):
    routed experts  = mean over MoE layers of rank r's distinct experts x bytes per expert x MoE layers
    router, embedding rows                 = full (replicated on every rank)
    attention, dense FFN, shared experts,
    lm_head, KV cache, activations         = 1/W (tensor parallel: heads, intermediate and vocab split)
The roofline of the step is the busiest rank's bytes over that rank's measured copy bandwidth; the
communication buffers (a few MB per layer) are not counted.
"""
from __future__ import annotations

import math

REPLICATED = ("router", "embedding")
SPLIT = ("attention", "dense_ffn", "shared_expert", "lm_head", "kv_cache", "activation")
H100_MEMORY_BYTES = 80e9  # conf/hardware/h100_sxm.yaml
USABLE_FRACTION = 0.9  # room left for activations, the KV cache and the allocator


def per_rank_bytes(cost, spec, per_rank_unique: list[float]) -> list[dict[str, float]]:
    """Byte breakdown of each rank's share of one step (cost: the whole step's StepCost)."""
    w = len(per_rank_unique)
    n_moe = len(spec.moe_layer_indices) if spec.family == "moe" else 0
    full = cost.bytes_breakdown()
    out = []
    for uniq in per_rank_unique:
        d = {k: full[f"{k}"] for k in REPLICATED}
        d.update({k: full[k] / w for k in SPLIT})
        d["routed_expert"] = uniq * n_moe * spec.bytes_per_expert() if n_moe else 0.0
        d["total"] = sum(d.values())
        out.append(d)
    return out


def h100_gpus_needed(spec, weight_bytes: float) -> dict:
    """The fewest H100s (a power of two that splits heads, KV heads and experts) whose memory holds the
    weights at 90% use. A projection from sizes, not a measurement."""
    g = 1
    while g <= 64:
        splits = spec.num_heads % g == 0 and spec.num_kv_heads % g == 0 and (
            spec.family != "moe" or spec.num_experts % g == 0)
        if splits and weight_bytes / g <= USABLE_FRACTION * H100_MEMORY_BYTES:
            break
        g *= 2
    return {"h100_gpus": g, "weights_GB": weight_bytes / 1e9,
            "rule": f"fewest power-of-two H100s (80 GB) holding the bf16 weights at <= {USABLE_FRACTION:.0%} use, "
                    "split evenly over heads, KV heads and experts",
            "per_gpu_weights_GB": weight_bytes / g / 1e9, "exact_ratio": math.ceil(
                weight_bytes / (USABLE_FRACTION * H100_MEMORY_BYTES))}
