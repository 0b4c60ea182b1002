"""Reference points measured beside the engines in the same run, and the kernel profile of one step.

    read-only bandwidth  = bytes / time of a large float32-accumulated sum over bf16 data (reads only)
    same-bytes cuBLAS    = the activated experts' weights pre-gathered into contiguous matrices, then two plain
                           GEMMs (x @ W_gate_up^T, then act @ W_down^T): the bytes the MoE layer must read, with
                           none of the routing, gathering or grouping; % = expert bytes / time / bandwidth
    profile              = torch.profiler over CUDA-graph replays of a step: device time per kernel name
"""
from __future__ import annotations

import math
from collections import defaultdict

import torch

from tasks.gpu.timing import time_cuda


def measure_read_bandwidth(nbytes: int = 4 << 30, reps: int = 20) -> dict:
    """Read-only HBM ceiling in bytes/s: a float32-accumulated sum over ``nbytes`` of random bf16 data."""
    x = torch.randn(nbytes // 2, device="cuda", dtype=torch.bfloat16)
    out = torch.empty((), device="cuda", dtype=torch.float32)
    stats = time_cuda(lambda i: torch.sum(x, dtype=torch.float32), 1, reps=reps, warmup=3, use_graph=False)
    del x
    torch.cuda.empty_cache()
    return {"read_bandwidth_bytes_s": nbytes / (stats.median_ms * 1e-3), "read_bytes": nbytes,
            "read_timing": stats.to_dict(), "read_formula": "bytes / median time (torch.sum, bf16 in, float32 acc)"}


def cublas_same_bytes(hidden: int, inter: int, n_experts: int, n_tokens: int, reps: int = 30,
                      min_bytes: int = 512 << 20, dtype=torch.bfloat16) -> dict:
    """Two plain cuBLAS GEMMs over ``n_experts`` experts' weights pre-gathered contiguously, N tokens.

    Several weight copies (>= min_bytes in all, so L2 never holds them) run back to back in one CUDA graph;
    the time per copy is the graph time over the copies.
    """
    per = n_experts * 3 * hidden * inter * torch.finfo(dtype).bits // 8
    copies = max(2, math.ceil(min_bytes / per))
    g = torch.Generator(device="cuda").manual_seed(0)
    w1 = [torch.randn(n_experts * 2 * inter, hidden, device="cuda", dtype=dtype, generator=g) * hidden ** -0.5
          for _ in range(copies)]
    w2 = [torch.randn(hidden, n_experts * inter, device="cuda", dtype=dtype, generator=g) * inter ** -0.5
          for _ in range(copies)]
    x = torch.randn(n_tokens, hidden, device="cuda", dtype=dtype, generator=g)

    def run(_i):
        for a, b in zip(w1, w2):
            h = x @ a.T
            h[:, : n_experts * inter] @ b.T
    stats = time_cuda(run, 1, reps=reps, warmup=2, use_graph=True, load_input=lambda i: None)
    t = stats.median_ms / copies
    del w1, w2
    torch.cuda.empty_cache()
    return {"kind": "cublas_same_bytes", "n_tokens": n_tokens, "experts": n_experts, "bytes": per, "ms": t,
            "bandwidth_bytes_s": per / (t * 1e-3), "copies": copies, "timing": stats.to_dict()}


def _device_time_us(evt) -> float:
    for name in ("self_device_time_total", "self_cuda_time_total", "device_time_total", "cuda_time_total"):
        v = getattr(evt, name, None)
        if v:
            return float(v)
    return 0.0


def profile_step(run, steps: int = 5, top: int = 12) -> dict:
    """Kernel-level device time of ``steps`` calls of run() (CUDA-graph replays or eager steps), per step.

    Returns {'kernels_per_step', 'kernel_us_per_step', 'top': [(name, calls/step, us/step, share)]}.
    """
    from torch.profiler import ProfilerActivity, profile

    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        for _ in range(steps):
            run()
        torch.cuda.synchronize()
    per_name: dict = defaultdict(lambda: [0, 0.0])
    for evt in prof.events():
        if str(getattr(evt, "device_type", "")).endswith("CUDA") and _device_time_us(evt) > 0:
            if evt.name.startswith(("Memcpy", "Memset")) and not evt.name.startswith("Memcpy DtoD"):
                continue
            per_name[evt.name][0] += 1
            per_name[evt.name][1] += _device_time_us(evt)
    total = sum(v[1] for v in per_name.values())
    rows = sorted(per_name.items(), key=lambda kv: -kv[1][1])
    return {"steps": steps, "kernels_per_step": sum(v[0] for v in per_name.values()) / steps,
            "kernel_us_per_step": total / steps,
            "top": [(name[:90], c / steps, us / steps, us / total if total else 0.0) for name, (c, us) in rows[:top]]}


def format_profile(label: str, prof: dict, step_ms: float | None = None) -> str:
    """Plain-text top-kernel table of profile_step's result."""
    head = (f"profile {label}: {prof['kernels_per_step']:.0f} kernels/step, {prof['kernel_us_per_step']:.0f} us "
            f"of kernel time/step" + (f" (step {step_ms * 1e3:.0f} us in graph replay)" if step_ms else ""))
    lines = [head]
    for name, calls, us, share in prof["top"]:
        lines.append(f"  {share:6.1%} {us:9.1f} us {calls:6.1f}x  {name}")
    return "\n".join(lines)
