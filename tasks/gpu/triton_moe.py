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

Routing metadata (slot order stably sorted by expert, counts, inclusive offsets) is built by one parallel
Triton launch when N*k <= MAX_FUSED_SLOTS: each program ranks its slots among the earlier slots of the same
expert, so no sort is needed and the order equals torch.argsort(stable=True).
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
# H and I are compile-time constants (one build per model shape): loop bounds are known, and Triton's CPU
# interpreter (older releases cannot loop to a runtime bound) runs the same source.
_TILES_UP = [(32, 128, 4, 4), (64, 128, 4, 4), (64, 64, 4, 5), (32, 256, 4, 3), (64, 256, 8, 3)]
_TILES_DOWN = [(64, 128, 4, 4), (128, 64, 4, 4), (64, 64, 4, 5), (32, 128, 4, 4), (128, 128, 8, 3)]
_CONFIGS_UP = ([(bm, *t) for bm in (16, 32, 64) for t in _TILES_UP]
               + [(128, 64, 64, 8, 4), (128, 64, 128, 8, 3), (128, 32, 128, 8, 4)])
_CONFIGS_DOWN = ([(bm, *t) for bm in (16, 32, 64) for t in _TILES_DOWN]
                 + [(128, 64, 64, 8, 4), (128, 128, 64, 8, 3), (128, 64, 128, 8, 3)])
MAX_FUSED_SLOTS = 16384  # N*k up to this: routing metadata in one parallel Triton launch; above, torch sort
MAX_FUSED_EXPERTS = 1024  # and E up to this (each program holds a [BLOCK_S, E] comparison); the specs go to 256
_RANK_BLOCK, _RANK_CHUNK = 32, 256  # slots ranked per program, slots compared per loop step


def _pow2(n: int) -> int:
    return 1 << max(0, int(n) - 1).bit_length()


if triton is not None:
    def _autotune(configs):
        return triton.autotune(
            configs=[triton.Config({"BLOCK_M": m, "BLOCK_N": n, "BLOCK_K": k}, num_warps=w, num_stages=s)
                     for m, n, k, w, s in configs],
            key=["H", "I", "SLOTS"],
            do_bench=lambda fn, quantiles: triton.testing.do_bench(fn, warmup=5, rep=25, quantiles=quantiles))

    @triton.jit
    def _routing_metadata_kernel(ids_ptr, order_ptr, counts_ptr, offsets_ptr, n_slots, E: tl.constexpr,
                                 E_BINS: tl.constexpr, BLOCK_S: tl.constexpr, CHUNK: tl.constexpr,
                                 SLOTS_CAP: tl.constexpr):
        # Program p ranks slots [p*BLOCK_S, (p+1)*BLOCK_S): position = (slots of lower experts) + (earlier slots of
        # the same expert). Every program histograms all slots (cheap for N*k <= MAX_FUSED_SLOTS); program 0
        # writes counts and offsets. Padding lanes carry expert E, which lands in a bin that is never stored.
        pid = tl.program_id(0)
        mine = pid * BLOCK_S + tl.arange(0, BLOCK_S)
        my_valid = mine < n_slots
        my_e = tl.load(ids_ptr + mine, mask=my_valid, other=E).to(tl.int32)
        counts = tl.zeros((E_BINS,), dtype=tl.int32)
        rank = tl.zeros((BLOCK_S,), dtype=tl.int32)
        for c0 in range(0, SLOTS_CAP, CHUNK):  # constexpr bound (power-of-two bucket of n_slots); lanes masked
            j = c0 + tl.arange(0, CHUNK)
            e_j = tl.load(ids_ptr + j, mask=j < n_slots, other=E).to(tl.int32)
            counts += tl.histogram(e_j, E_BINS)
            earlier_same = (e_j[None, :] == my_e[:, None]) & (j[None, :] < mine[:, None])
            rank += tl.sum(earlier_same.to(tl.int32), 1)
        ex = tl.arange(0, E_BINS)
        counts = tl.where(ex < E, counts, 0)
        start = tl.sum(tl.where(ex[None, :] < my_e[:, None], counts[None, :], 0), 1)
        tl.store(order_ptr + start + rank, mine.to(tl.int64), mask=my_valid)
        if pid == 0:
            tl.store(counts_ptr + ex, counts, mask=ex < E)
            tl.store(offsets_ptr + ex, tl.cumsum(counts, 0), mask=ex < E)

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


def routing_metadata(topk_ids: torch.Tensor, num_experts: int):
    """order/counts/offsets exactly as engines.sort_by_expert: one Triton launch, or torch past MAX_FUSED_*."""
    n_slots = topk_ids.numel()
    if n_slots > MAX_FUSED_SLOTS or num_experts > MAX_FUSED_EXPERTS:
        return sort_by_expert(topk_ids, num_experts)
    dev = topk_ids.device
    order = torch.empty(n_slots, dtype=torch.int64, device=dev)
    counts = torch.empty(num_experts, dtype=torch.int32, device=dev)
    offsets = torch.empty(num_experts, dtype=torch.int32, device=dev)
    grid = (triton.cdiv(n_slots, _RANK_BLOCK),)
    _routing_metadata_kernel[grid](topk_ids.reshape(-1), order, counts, offsets, n_slots, E=num_experts,
                                   E_BINS=max(16, _pow2(num_experts + 1)), BLOCK_S=_RANK_BLOCK,
                                   CHUNK=_RANK_CHUNK, SLOTS_CAP=max(_RANK_CHUNK, _pow2(n_slots)), num_warps=4)
    return order, counts, offsets


def max_row_blocks(n_slots: int, num_experts: int, block_m: int) -> int:
    """Upper bound on sum_e ceil(count_e / block_m) over any routing of n_slots slots: the grid's axis 0."""
    return min(num_experts, n_slots) + -(-n_slots // block_m)


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
        n_slots = n * k
        bucket = _pow2(n_slots)  # autotune key: tiles are re-tuned per N*k bucket
        e_pow2 = _pow2(e)
        order, counts, _ = routing_metadata(topk_ids.contiguous(), e)
        x = x.contiguous()
        act = torch.empty(n_slots, i, dtype=x.dtype, device=x.device)
        _launch(_gate_up_kernel, lambda meta: (max_row_blocks(n_slots, e, meta["BLOCK_M"]),
                                               triton.cdiv(i, meta["BLOCK_N"])),
                x, w.w_gate_up, act, order, counts, h, i, bucket, E=e, E_POW2=e_pow2, TOP_K=k)
        y = torch.empty(n_slots, h, dtype=x.dtype, device=x.device)
        route_w = topk_weights.reshape(-1).float().contiguous()
        _launch(_down_kernel, lambda meta: (max_row_blocks(n_slots, e, meta["BLOCK_M"]),
                                            triton.cdiv(h, meta["BLOCK_N"])),
                act, w.w_down, y, route_w, order, counts, h, i, bucket, E=e, E_POW2=e_pow2)
        return y.view(n, k, h).sum(1)  # one kernel: bf16 in/out, float accumulation inside torch

    def info(self):
        d = {**super().info(), "triton": triton.__version__,
             "schedule": "flat (expert row-block x output tile) grid; tiles autotuned per N*k bucket"}
        for name, kern in (("gate_up", _gate_up_kernel), ("down", _down_kernel)):
            best = getattr(kern, "best_config", None)
            if best is not None:
                d[f"{name}_config"] = str(best)
        return d
