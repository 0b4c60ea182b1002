"""Fused Triton MoE engine: the work is cut into (expert row-block, output tile) programs, all launched at once.

Kernel 1 computes act = silu(x W_gate^T) * (x W_up^T) for the tokens routed to each expert (gate and up tiles
loaded side by side, activation fused in the epilogue). Kernel 2 computes y = w_route * act W_down^T and writes
each row straight to its original (token, slot) position.

Scheduling. Grid axis 0 walks a flat list of row blocks: expert e owns ceil(count_e / BLOCK_M) consecutive
blocks, and each program finds its expert from the per-expert counts (a cumsum over E lanes, no host sync). An
expert with no tokens owns no block, so its weights are never read; a hot expert's row blocks run side by side
on different SMs, and the weight tile they share comes from HBM once and from L2 after that. (Looping over a
hot expert's rows inside one program, the first version of this kernel, serialised the busiest expert: 62% of
the copy roofline at N=256 against 80% at N=64.) Programs past the last block return at once; the grid is sized
by N*k alone, so a step can be captured in a CUDA graph.

Routing metadata (slot order, counts, routing weights from the router logits, shared-expert slots) and the final
combine (+ residual, + the next block's RMSNorm) are single launches in tasks/gpu/moe_plan.py.
"""
from __future__ import annotations

import os

import torch

from tasks.gpu.engines import MoEEngine, MoEWeights
from tasks.gpu.moe_plan import (FALLBACKS, MAX_FUSED_EXPERTS, MAX_FUSED_SLOTS, _pow2, combine_rows,  # noqa: F401
                                routing_metadata, routing_plan)

try:
    import triton
    import triton.language as tl
except ImportError:  # CPU-only installs: the engine reports itself unavailable
    triton = None
    tl = None

# (BLOCK_M, BLOCK_N, BLOCK_K, num_warps, num_stages) tried by the autotuner, per kernel, keyed on H, I and the
# power-of-two bucket of N*k. H and I are compile-time constants (one build per model shape): loop bounds are
# known, and Triton's CPU interpreter (older releases cannot loop to a runtime bound) runs the same source.
# The list is short because every config is compiled on first use: the H200 runs of 2026-11-29/30 picked
# BLOCK_M=16 at every N up to 256 (calibrated routing spreads N*k slots over many experts), so 32/64-row blocks
# keep only their best tiles. Few rows per expert (N <= 8): narrow tiles and long K steps put more programs,
# each with more bytes in flight, on the 132 SMs.
_TILES_UP = [(32, 128, 4, 4), (64, 128, 4, 4), (64, 64, 4, 5), (32, 256, 4, 3), (64, 256, 8, 3)]
_TILES_DOWN = [(64, 128, 4, 4), (128, 64, 4, 4), (64, 64, 4, 5), (32, 128, 4, 4), (64, 256, 4, 2)]
_SMALL_UP = [(16, 256, 2, 4), (32, 256, 4, 3)]
_SMALL_DOWN = [(32, 256, 4, 3), (128, 64, 4, 4)]
_CONFIGS_UP = ([(16, *t) for t in _TILES_UP + _SMALL_UP] + [(32, *t) for t in _TILES_UP[:3]]
               + [(64, 64, 128, 4, 4), (128, 64, 64, 8, 4)])
_CONFIGS_DOWN = ([(16, *t) for t in _TILES_DOWN + _SMALL_DOWN] + [(32, *t) for t in _TILES_DOWN[:3]]
                 + [(64, 64, 128, 4, 4), (128, 128, 64, 8, 3)])


if triton is not None:
    def _autotune(configs):
        return triton.autotune(
            configs=[triton.Config({"BLOCK_M": m, "BLOCK_N": n, "BLOCK_K": k}, num_warps=w, num_stages=s)
                     for m, n, k, w, s in configs],
            key=["H", "I", "SLOTS"],
            do_bench=lambda fn, quantiles: triton.testing.do_bench(fn, warmup=5, rep=25, quantiles=quantiles))

    @triton.jit
    def _row_block(counts_ptr, pid_m, E: tl.constexpr, E_POW2: tl.constexpr, BLOCK_M: tl.constexpr):
        # Flat row-block index -> (expert, first sorted row, rows in this block); rows <= 0 past the last block.
        ex = tl.arange(0, E_POW2)
        c = tl.load(counts_ptr + ex, mask=ex < E, other=0)
        blocks = (c + BLOCK_M - 1) // BLOCK_M
        e = tl.sum((tl.cumsum(blocks, 0) <= pid_m).to(tl.int32), 0)
        blk = pid_m - tl.sum(tl.where(ex < e, blocks, 0), 0)
        cnt = tl.sum(tl.where(ex == e, c, 0), 0)
        start = tl.sum(tl.where(ex < e, c, 0), 0) + blk * BLOCK_M
        return e, start, tl.minimum(cnt - blk * BLOCK_M, BLOCK_M)

    @_autotune(_CONFIGS_UP)
    @triton.jit
    def _gate_up_kernel(x_ptr, w_ptr, act_ptr, order_ptr, counts_ptr, H: tl.constexpr, I: tl.constexpr, SLOTS,
                        E: tl.constexpr, E_POW2: tl.constexpr, TOP_K: tl.constexpr,
                        BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
        e, start, n_rows = _row_block(counts_ptr, tl.program_id(0), E, E_POW2, BLOCK_M)
        if n_rows <= 0:
            return
        offs_n = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
        n_mask = offs_n < I
        offs_k = tl.arange(0, BLOCK_K)
        rows = tl.arange(0, BLOCK_M)
        r_mask = rows < n_rows
        srt = start + rows
        tok = tl.load(order_ptr + srt, mask=r_mask, other=0) // TOP_K
        w_base = w_ptr + e.to(tl.int64) * (2 * I * H)
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
        dst = act_ptr + srt[:, None].to(tl.int64) * I + offs_n[None, :]
        tl.store(dst, act.to(act_ptr.dtype.element_ty), mask=r_mask[:, None] & n_mask[None, :])

    @_autotune(_CONFIGS_DOWN)
    @triton.jit
    def _down_kernel(act_ptr, w_ptr, y_ptr, route_w_ptr, order_ptr, counts_ptr, H: tl.constexpr, I: tl.constexpr,
                     SLOTS, E: tl.constexpr, E_POW2: tl.constexpr,
                     BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
        e, start, n_rows = _row_block(counts_ptr, tl.program_id(0), E, E_POW2, BLOCK_M)
        if n_rows <= 0:
            return
        offs_n = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
        n_mask = offs_n < H
        offs_k = tl.arange(0, BLOCK_K)
        rows = tl.arange(0, BLOCK_M)
        r_mask = rows < n_rows
        srt = start + rows
        slot = tl.load(order_ptr + srt, mask=r_mask, other=0)
        w_base = w_ptr + e.to(tl.int64) * (H * I)
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


def max_row_blocks(n_slots: int, num_experts: int, block_m: int) -> int:
    """Upper bound on sum_e ceil(count_e / block_m) over any routing of n_slots slots: the grid's axis 0."""
    return min(num_experts, n_slots) + -(-n_slots // block_m)


class TritonGroupedEngine(MoEEngine):
    """Fused Triton grouped GEMM (gate/up + SiLU, then down + routing weight), graph-capturable.

    Options:
        shared_experts: always-on experts stored right after the routed ones in the same buffers (the
            harness allocates them so). forward_step then runs them as extra slots of the same two
            launches, weight 1.0, instead of two more GEMMs and an activation.
    """

    name = "grouped_triton"
    graph_safe = True

    def __init__(self, weights: MoEWeights, top_k: int, shared_experts: MoEWeights | None = None) -> None:
        super().__init__(weights, top_k)
        interpret = os.environ.get("TRITON_INTERPRET") == "1"  # Triton's CPU interpreter (tests without a GPU)
        if triton is None or (weights.w_gate_up.device.type != "cuda" and not interpret):
            raise RuntimeError("engine 'grouped_triton' needs triton and CUDA weights")
        if not (weights.w_gate_up.is_contiguous() and weights.w_down.is_contiguous()):
            raise ValueError("grouped_triton needs contiguous w_gate_up [E,2I,H] and w_down [E,H,I]")
        self.num_shared = 0
        if shared_experts is not None:
            if not _adjacent(weights, shared_experts):
                raise ValueError("grouped_triton shared_experts must have the routed experts' [2I,H]/[H,I] shapes "
                                 "and sit right after them in memory (one [E+S, ...] buffer)")
            self.num_shared = shared_experts.num_experts

    def _experts(self, x, order, counts, route_w, slot_k: int, n_experts: int):
        """The two grouped launches over n_experts experts (routed, then any shared): weighted rows [N*slot_k, H]."""
        w = self.weights
        h, i = w.hidden, w.inter
        n_slots = x.shape[0] * slot_k
        bucket = _pow2(n_slots)  # autotune key: tiles are re-tuned per N*k bucket
        e_pow2 = _pow2(n_experts)
        x = x.contiguous()
        act = torch.empty(n_slots, i, dtype=x.dtype, device=x.device)
        _launch(_gate_up_kernel, lambda meta: (max_row_blocks(n_slots, n_experts, meta["BLOCK_M"]),
                                               triton.cdiv(i, meta["BLOCK_N"])),
                x, w.w_gate_up, act, order, counts, h, i, bucket, E=n_experts, E_POW2=e_pow2, TOP_K=slot_k)
        y = torch.empty(n_slots, h, dtype=x.dtype, device=x.device)
        _launch(_down_kernel, lambda meta: (max_row_blocks(n_slots, n_experts, meta["BLOCK_M"]),
                                            triton.cdiv(h, meta["BLOCK_N"])),
                act, w.w_down, y, route_w, order, counts, h, i, bucket, E=n_experts, E_POW2=e_pow2)
        return y

    def forward(self, x, topk_ids, topk_weights):
        k = topk_ids.shape[1]
        e = self.weights.num_experts
        order, counts, _, _ = routing_plan(topk_ids.contiguous(), e)
        y = self._experts(x, order, counts, topk_weights.reshape(-1).float().contiguous(), k, e)
        return combine_rows(y, k)

    def forward_step(self, x, topk_ids, router_logits, residual=None, norm_weight=None):
        """residual + routed experts (softmax of router_logits [N, E] at topk_ids) + shared experts: 4 launches.

        With norm_weight returns (out, rms_norm(out) * norm_weight): the next layer's normed input, same launch.
        """
        k = topk_ids.shape[1]
        e, s = self.weights.num_experts, self.num_shared
        order, counts, _, route_w = routing_plan(topk_ids, e, s, router_logits)
        y = self._experts(x, order, counts, route_w, k + s, e + s)
        return combine_rows(y, k + s, residual, norm_weight)

    def info(self):
        d = {**super().info(), "triton": triton.__version__, "shared_experts_fused": self.num_shared,
             "fallbacks": dict(FALLBACKS),
             "schedule": "flat (expert row-block x output tile) grid; tiles autotuned per N*k bucket"}
        for name, kern in (("gate_up", _gate_up_kernel), ("down", _down_kernel)):
            best = getattr(kern, "best_config", None)
            if best is not None:
                d[f"{name}_config"] = str(best)
        return d


def _adjacent(routed: MoEWeights, shared: MoEWeights) -> bool:
    """shared's experts start where routed's end, in both buffers, with the same shapes and dtype."""
    for a, b in ((routed.w_gate_up, shared.w_gate_up), (routed.w_down, shared.w_down)):
        if a.shape[1:] != b.shape[1:] or a.dtype != b.dtype or a.device != b.device or not b.is_contiguous():
            return False
        if b.data_ptr() != a.data_ptr() + a.numel() * a.element_size():
            return False
    return True
