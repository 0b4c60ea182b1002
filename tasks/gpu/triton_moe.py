"""Fused Triton MoE engine: one program per (expert, output tile) streams that expert's weight tile once.

Kernel 1 computes act = silu(x W_gate^T) * (x W_up^T) for all tokens routed to expert e (gate and up tiles
loaded side by side, activation fused in the epilogue). Kernel 2 computes y = w_route * act W_down^T and
writes each row straight to its original (token, slot) position. An expert with no tokens runs zero loop
iterations, so it reads no weights; an expert with many tokens loops over row chunks, re-reading its weight
tile from L2 rather than HBM. Routing metadata is built without host syncs, so a step can be graph-captured.
"""
from __future__ import annotations

import os

import torch

from tasks.gpu.engines import MoEEngine, MoEWeights, sort_by_expert

try:
    import triton
    import triton.language as tl
except ImportError:  # CPU-only installs: the engine reports itself unavailable
    triton = None
    tl = None

# (BLOCK_M, BLOCK_N, BLOCK_K, num_warps, num_stages) tried by the autotuner, per kernel, keyed on H, I and the
# power-of-two bucket of N*k: the row block is tuned too (16 suits ~1 token per expert, 64-128 suit N >= 64).
_TILES_UP = [(32, 128, 4, 4), (64, 128, 4, 4), (64, 64, 4, 5), (32, 256, 4, 3), (64, 256, 8, 3)]
_TILES_DOWN = [(64, 128, 4, 4), (128, 64, 4, 4), (64, 64, 4, 5), (32, 128, 4, 4), (128, 128, 8, 3)]
_CONFIGS_UP = ([(bm, *t) for bm in (16, 32, 64) for t in _TILES_UP]
               + [(128, 64, 64, 8, 4), (128, 64, 128, 8, 3), (128, 32, 128, 8, 4)])
_CONFIGS_DOWN = ([(bm, *t) for bm in (16, 32, 64) for t in _TILES_DOWN]
                 + [(128, 64, 64, 8, 4), (128, 128, 64, 8, 3), (128, 64, 128, 8, 3)])
MAX_FUSED_SLOTS = 4096  # N*k up to this: routing metadata in one single-program Triton kernel (tl.sort)


if triton is not None:
    def _autotune(configs):
        return triton.autotune(
            configs=[triton.Config({"BLOCK_M": m, "BLOCK_N": n, "BLOCK_K": k}, num_warps=w, num_stages=s)
                     for m, n, k, w, s in configs],
            key=["H", "I", "SLOTS"],
            do_bench=lambda fn, quantiles: triton.testing.do_bench(fn, warmup=5, rep=25, quantiles=quantiles))

    @triton.jit
    def _routing_metadata_kernel(ids_ptr, order_ptr, counts_ptr, offsets_ptr, n_slots, E: tl.constexpr,
                                 BLOCK: tl.constexpr, E_POW2: tl.constexpr):
        # One program: sort (expert, slot) keys, histogram the experts, inclusive cumsum -> offsets.
        idx = tl.arange(0, BLOCK)
        valid = idx < n_slots
        e = tl.load(ids_ptr + idx, mask=valid, other=E).to(tl.int32)
        keys = tl.sort(e * BLOCK + idx)
        tl.store(order_ptr + idx, (keys % BLOCK).to(tl.int64), mask=valid)
        counts = tl.histogram(e.to(tl.int32), E_POW2)  # expert E (padding lanes) lands in an unused bin
        ex = tl.arange(0, E_POW2)
        counts = tl.where(ex < E, counts, 0)
        tl.store(counts_ptr + ex, counts, mask=ex < E)
        tl.store(offsets_ptr + ex, tl.cumsum(counts, 0), mask=ex < E)

    @_autotune(_CONFIGS_UP)
    @triton.jit
    def _gate_up_kernel(x_ptr, w_ptr, act_ptr, order_ptr, offsets_ptr, counts_ptr, H, I, SLOTS, TOP_K: tl.constexpr,
                        BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
        e = tl.program_id(0)
        pid_n = tl.program_id(1)
        cnt = tl.load(counts_ptr + e)
        start = tl.load(offsets_ptr + e) - cnt
        offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
        n_mask = offs_n < I
        offs_k = tl.arange(0, BLOCK_K)
        w_base = w_ptr + e.to(tl.int64) * (2 * I * H)
        for m0 in range(0, cnt, BLOCK_M):
            rows = m0 + tl.arange(0, BLOCK_M)
            r_mask = rows < cnt
            slot = tl.load(order_ptr + start + rows, mask=r_mask, other=0)
            tok = slot // TOP_K
            acc_g = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
            acc_u = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
            for k0 in range(0, H, BLOCK_K):
                kk = k0 + offs_k
                k_mask = kk < H
                a = tl.load(x_ptr + tok[:, None] * H + kk[None, :], mask=r_mask[:, None] & k_mask[None, :], other=0.0)
                wmask = k_mask[:, None] & n_mask[None, :]
                wg = tl.load(w_base + offs_n[None, :] * H + kk[:, None], mask=wmask, other=0.0)
                wu = tl.load(w_base + (offs_n[None, :] + I) * H + kk[:, None], mask=wmask, other=0.0)
                acc_g = tl.dot(a, wg, acc_g)
                acc_u = tl.dot(a, wu, acc_u)
            act = acc_g * tl.sigmoid(acc_g) * acc_u
            dst = act_ptr + (start + rows)[:, None].to(tl.int64) * I + offs_n[None, :]
            tl.store(dst, act.to(act_ptr.dtype.element_ty), mask=r_mask[:, None] & n_mask[None, :])

    @_autotune(_CONFIGS_DOWN)
    @triton.jit
    def _down_kernel(act_ptr, w_ptr, y_ptr, route_w_ptr, order_ptr, offsets_ptr, counts_ptr, H, I, SLOTS,
                     BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
        e = tl.program_id(0)
        pid_n = tl.program_id(1)
        cnt = tl.load(counts_ptr + e)
        start = tl.load(offsets_ptr + e) - cnt
        offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
        n_mask = offs_n < H
        offs_k = tl.arange(0, BLOCK_K)
        w_base = w_ptr + e.to(tl.int64) * (H * I)
        for m0 in range(0, cnt, BLOCK_M):
            rows = m0 + tl.arange(0, BLOCK_M)
            r_mask = rows < cnt
            srt = start + rows
            slot = tl.load(order_ptr + srt, mask=r_mask, other=0)
            acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
            for k0 in range(0, I, BLOCK_K):
                kk = k0 + offs_k
                k_mask = kk < I
                a = tl.load(act_ptr + srt[:, None].to(tl.int64) * I + kk[None, :],
                            mask=r_mask[:, None] & k_mask[None, :], other=0.0)
                w = tl.load(w_base + offs_n[None, :] * I + kk[:, None], mask=k_mask[:, None] & n_mask[None, :],
                            other=0.0)
                acc = tl.dot(a, w, acc)
            rw = tl.load(route_w_ptr + slot, mask=r_mask, other=0.0)
            acc = acc * rw[:, None]
            dst = y_ptr + slot[:, None].to(tl.int64) * H + offs_n[None, :]
            tl.store(dst, acc.to(y_ptr.dtype.element_ty), mask=r_mask[:, None] & n_mask[None, :])


def _launch(kernel, grid, *args, **kwargs):
    """Autotuned launch on a GPU; under TRITON_INTERPRET=1 (no driver to benchmark with) one fixed config."""
    if os.environ.get("TRITON_INTERPRET") == "1":
        meta = {"BLOCK_M": 16, "BLOCK_N": 32, "BLOCK_K": 32}
        return kernel.fn[grid(meta)](*args, **kwargs, **meta)
    return kernel[grid](*args, **kwargs)


def routing_metadata(topk_ids: torch.Tensor, num_experts: int):
    """order/counts/offsets as engines.sort_by_expert, in one Triton launch when N*k <= MAX_FUSED_SLOTS."""
    n_slots = topk_ids.numel()
    if n_slots > MAX_FUSED_SLOTS:
        return sort_by_expert(topk_ids, num_experts)
    dev = topk_ids.device
    block = max(16, triton.next_power_of_2(n_slots))
    e_pow2 = max(16, triton.next_power_of_2(num_experts + 1))
    order = torch.empty(n_slots, dtype=torch.int64, device=dev)
    counts = torch.empty(num_experts, dtype=torch.int32, device=dev)
    offsets = torch.empty(num_experts, dtype=torch.int32, device=dev)
    _routing_metadata_kernel[(1,)](topk_ids.reshape(-1), order, counts, offsets, n_slots, E=num_experts,
                                   BLOCK=block, E_POW2=e_pow2, num_warps=4)
    return order, counts, offsets


class TritonGroupedEngine(MoEEngine):
    """Fused Triton grouped GEMM (gate/up + SiLU, then down + routing weight), graph-capturable."""

    name = "grouped_triton"
    graph_safe = True

    def __init__(self, weights: MoEWeights, top_k: int) -> None:
        super().__init__(weights, top_k)
        interpret = os.environ.get("TRITON_INTERPRET") == "1"  # Triton's CPU interpreter (tests without a GPU)
        if triton is None or (weights.w_gate_up.device.type != "cuda" and not interpret):
            raise RuntimeError("engine 'grouped_triton' needs triton and CUDA weights")
        if not (weights.w_gate_up.is_contiguous() and weights.w_down.is_contiguous()):
            raise ValueError("grouped_triton needs contiguous w_gate_up [E,2I,H] and w_down [E,H,I]")

    def forward(self, x, topk_ids, topk_weights):
        n, k = topk_ids.shape
        w = self.weights
        e, h, i = w.num_experts, w.hidden, w.inter
        slots = triton.next_power_of_2(n * k)  # autotune key: tiles are re-tuned per N*k bucket
        order, counts, offsets = routing_metadata(topk_ids.contiguous(), e)
        x = x.contiguous()
        act = torch.empty(n * k, i, dtype=x.dtype, device=x.device)
        _launch(_gate_up_kernel, lambda meta: (e, triton.cdiv(i, meta["BLOCK_N"])),
                x, w.w_gate_up, act, order, offsets, counts, h, i, slots, TOP_K=k)
        y = torch.empty(n * k, h, dtype=x.dtype, device=x.device)
        route_w = topk_weights.reshape(-1).float().contiguous()
        _launch(_down_kernel, lambda meta: (e, triton.cdiv(h, meta["BLOCK_N"])),
                act, w.w_down, y, route_w, order, offsets, counts, h, i, slots)
        return y.view(n, k, h).sum(1)  # one kernel: bf16 in/out, float accumulation inside torch

    def info(self):
        d = {**super().info(), "triton": triton.__version__, "tiles": "autotuned incl. BLOCK_M, keyed on N*k bucket"}
        for name, kern in (("gate_up", _gate_up_kernel), ("down", _down_kernel)):
            best = getattr(kern, "best_config", None)
            if best is not None:
                d[f"{name}_config"] = str(best)
        return d
