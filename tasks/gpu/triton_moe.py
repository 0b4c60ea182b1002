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

Routing metadata (slot order stably sorted by expert, counts, inclusive offsets, and the routing weights from
the router logits) is built by one parallel Triton launch when N*k <= MAX_FUSED_SLOTS: each program ranks its
slots by comparison with all slots, so no sort is needed and the order equals torch.argsort(stable=True).
"""
from __future__ import annotations

import os

import torch
import torch.nn.functional as F

from tasks.gpu.engines import MoEEngine, MoEWeights, sort_by_expert

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
MAX_FUSED_SLOTS = 16384  # N*k up to this: routing metadata in one parallel Triton launch; above, torch sort
FALLBACKS: dict[str, str] = {}  # fused launch -> why torch is used instead (build failure), shown in info()
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
    def _slot_expert(ids_ptr, s, valid, E: tl.constexpr, E_R: tl.constexpr, K: tl.constexpr,
                     SLOT_K: tl.constexpr):
        # Slot s = token * SLOT_K + j: routed expert ids[token, j] for j < K, always-on shared expert
        # E_R + (j - K) after them; padding lanes get E (a bin that is never stored).
        if SLOT_K == K:
            return tl.load(ids_ptr + s, mask=valid, other=E).to(tl.int32)
        t = s // SLOT_K
        j = s - t * SLOT_K
        routed = tl.load(ids_ptr + t * K + j, mask=valid & (j < K), other=0).to(tl.int32)
        e = tl.where(j < K, routed, E_R + j - K)
        return tl.where(valid, e, E)

    @triton.jit
    def _routing_metadata_kernel(ids_ptr, order_ptr, counts_ptr, offsets_ptr, logits_ptr, rw_ptr, n_slots,
                                 n_rank_progs, E: tl.constexpr, E_R: tl.constexpr, K: tl.constexpr,
                                 SLOT_K: tl.constexpr, K_POW2: tl.constexpr, HAS_LOGITS: tl.constexpr,
                                 BLOCK_S: tl.constexpr,
                                 CHUNK: tl.constexpr, SLOTS_CAP: tl.constexpr):
        # Programs [0, n_rank_progs) rank BLOCK_S slots each: position = (slots of lower experts) + (earlier
        # slots of the same expert), both counted by comparing against every slot in CHUNK-wide steps (no
        # histogram, no sort). The programs after them count BLOCK_S experts each (counts and inclusive
        # offsets), so every program does the same small amount of work and all run at once.
        # With HAS_LOGITS a rank program also writes its slots' routing weights: the softmax of the token's K
        # router logits at its chosen experts (1.0 for a shared-expert slot).
        pid = tl.program_id(0)
        lane = tl.arange(0, BLOCK_S)
        if pid < n_rank_progs:
            mine = pid * BLOCK_S + lane
            my_valid = mine < n_slots
            my_e = _slot_expert(ids_ptr, mine, my_valid, E, E_R, K, SLOT_K)
            pos = tl.zeros((BLOCK_S,), dtype=tl.int32)
            for c0 in range(0, SLOTS_CAP, CHUNK):  # constexpr bound (power-of-two bucket of n_slots)
                j = c0 + tl.arange(0, CHUNK)
                e_j = _slot_expert(ids_ptr, j, j < n_slots, E, E_R, K, SLOT_K)
                before = (e_j[None, :] < my_e[:, None]) | ((e_j[None, :] == my_e[:, None]) & (j[None, :] < mine[:, None]))
                pos += tl.sum(before.to(tl.int32), 1)
            tl.store(order_ptr + pos, mine.to(tl.int64), mask=my_valid)
            if HAS_LOGITS:  # the token's K logits as one [BLOCK_S, K_POW2] gather: two dependent loads in all
                tok = mine // SLOT_K
                jj = mine - tok * SLOT_K
                routed = my_valid & (jj < K)
                q = tl.arange(0, K_POW2)
                qm = routed[:, None] & (q[None, :] < K)
                eq = tl.load(ids_ptr + tok[:, None] * K + q[None, :], mask=qm, other=0)
                lq = tl.load(logits_ptr + tok[:, None] * E_R + eq, mask=qm, other=float("-inf")).to(tl.float32)
                mx = tl.max(lq, 1)
                mx = tl.where(routed, mx, 0.0)
                den = tl.sum(tl.where(qm, tl.exp(lq - mx[:, None]), 0.0), 1)
                mine_l = tl.load(logits_ptr + tok * E_R + tl.minimum(my_e, E_R - 1), mask=routed,
                                 other=0.0).to(tl.float32)
                rw = tl.where(routed, tl.exp(mine_l - mx) / tl.where(routed, den, 1.0), 1.0)
                tl.store(rw_ptr + mine, rw, mask=my_valid)
        else:
            ex = (pid - n_rank_progs) * BLOCK_S + lane
            cnt = tl.zeros((BLOCK_S,), dtype=tl.int32)
            upto = tl.zeros((BLOCK_S,), dtype=tl.int32)
            for c0 in range(0, SLOTS_CAP, CHUNK):
                j = c0 + tl.arange(0, CHUNK)
                e_j = _slot_expert(ids_ptr, j, j < n_slots, E, E_R, K, SLOT_K)
                cnt += tl.sum((e_j[None, :] == ex[:, None]).to(tl.int32), 1)
                upto += tl.sum((e_j[None, :] <= ex[:, None]).to(tl.int32), 1)
            tl.store(counts_ptr + ex, cnt, mask=ex < E)
            tl.store(offsets_ptr + ex, upto, mask=ex < E)

    @triton.jit
    def _combine_kernel(y_ptr, res_ptr, out_ptr, norm_w_ptr, normed_ptr, eps, H: tl.constexpr,
                        SLOT_K: tl.constexpr, BLOCK_H: tl.constexpr, HAS_RES: tl.constexpr, NORM: tl.constexpr):
        # out[t] = residual[t] + sum_j y[t*SLOT_K + j]: float accumulation, one bf16 rounding. With NORM (one
        # program holds the whole row) also normed[t] = rms_norm(out[t]) * norm_w: the next layer's input norm.
        t = tl.program_id(0).to(tl.int64)
        offs = tl.program_id(1) * BLOCK_H + tl.arange(0, BLOCK_H)
        m = offs < H
        acc = tl.zeros((BLOCK_H,), dtype=tl.float32)
        if HAS_RES:
            acc += tl.load(res_ptr + t * H + offs, mask=m, other=0.0).to(tl.float32)
        for j in tl.static_range(SLOT_K):
            acc += tl.load(y_ptr + (t * SLOT_K + j) * H + offs, mask=m, other=0.0).to(tl.float32)
        o = acc.to(out_ptr.dtype.element_ty)
        tl.store(out_ptr + t * H + offs, o, mask=m)
        if NORM:
            of = tl.where(m, o.to(tl.float32), 0.0)
            rstd = 1.0 / tl.sqrt(tl.sum(of * of, 0) / H + eps)
            w = tl.load(norm_w_ptr + offs, mask=m, other=0.0).to(tl.float32)
            tl.store(normed_ptr + t * H + offs, (of * rstd * w).to(normed_ptr.dtype.element_ty), mask=m)

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
    order, counts, offsets, _ = routing_plan(topk_ids, num_experts)
    return order, counts, offsets


def routing_plan(topk_ids: torch.Tensor, num_routed: int, num_shared: int = 0,
                 router_logits: torch.Tensor | None = None):
    """Slot order, counts, offsets and (with router_logits) per-slot routing weights, in one launch.

    Slots are token-major with num_shared always-on experts (ids num_routed .. num_routed+num_shared-1)
    after each token's top-k; a shared slot's weight is 1.0, a routed slot's the softmax of the token's k
    router logits [N, num_routed] at its chosen experts. Past MAX_FUSED_* the same plan is built with torch.
    Returns:
        order [N*(k+S)] int64, counts [E] int32, offsets [E] int32, route_w [N*(k+S)] float32 or None.
    """
    n, k = topk_ids.shape
    e = num_routed + num_shared
    slot_k = k + num_shared
    n_slots = n * slot_k
    dev = topk_ids.device
    if n_slots > MAX_FUSED_SLOTS or e > MAX_FUSED_EXPERTS or FALLBACKS.get("routing_plan"):
        return _torch_plan(topk_ids, num_routed, num_shared, router_logits)
    try:
        return _fused_plan(topk_ids, num_routed, num_shared, router_logits)
    except Exception as exc:  # noqa: BLE001 - a build failure on this GPU/Triton: torch computes the same plan
        if dev.type == "cuda" and torch.cuda.is_current_stream_capturing():
            raise
        FALLBACKS["routing_plan"] = f"{type(exc).__name__}: {str(exc)[:200]}"
        return _torch_plan(topk_ids, num_routed, num_shared, router_logits)


def _torch_plan(topk_ids, num_routed: int, num_shared: int, router_logits):
    """routing_plan with torch ops (argsort, index_add, softmax): the path past MAX_FUSED_* and the fallback."""
    n, k = topk_ids.shape
    e, dev = num_routed + num_shared, topk_ids.device
    ids = topk_ids
    if num_shared:
        extra = torch.arange(num_routed, e, device=dev, dtype=ids.dtype).expand(n, num_shared)
        ids = torch.cat([ids, extra], 1)
    order, counts, offsets = sort_by_expert(ids, e)
    rw = None
    if router_logits is not None:
        rw = torch.softmax(router_logits.float().gather(1, topk_ids.long()), -1)
        if num_shared:
            rw = torch.cat([rw, rw.new_ones(n, num_shared)], 1)
        rw = rw.reshape(-1).contiguous()
    return order, counts, offsets, rw


def _fused_plan(topk_ids, num_routed: int, num_shared: int, router_logits):
    n, k = topk_ids.shape
    e, slot_k, dev = num_routed + num_shared, k + num_shared, topk_ids.device
    n_slots = n * slot_k
    order = torch.empty(n_slots, dtype=torch.int64, device=dev)
    counts = torch.empty(e, dtype=torch.int32, device=dev)
    offsets = torch.empty(e, dtype=torch.int32, device=dev)
    has_logits = router_logits is not None
    rw = torch.empty(n_slots, dtype=torch.float32, device=dev) if has_logits else None
    logits = router_logits.contiguous() if has_logits else order  # unused pointer when HAS_LOGITS is off
    rank_progs = triton.cdiv(n_slots, _RANK_BLOCK)
    grid = (rank_progs + triton.cdiv(e, _RANK_BLOCK),)
    _routing_metadata_kernel[grid](topk_ids.contiguous().reshape(-1), order, counts, offsets, logits,
                                   rw if has_logits else order, n_slots, rank_progs, E=e, E_R=num_routed, K=k,
                                   SLOT_K=slot_k, K_POW2=max(2, _pow2(k)), HAS_LOGITS=has_logits, BLOCK_S=_RANK_BLOCK, CHUNK=_RANK_CHUNK,
                                   SLOTS_CAP=max(_RANK_CHUNK, _pow2(n_slots)), num_warps=4)
    return order, counts, offsets, rw


def combine_rows(y: torch.Tensor, slot_k: int, residual: torch.Tensor | None = None,
                 norm_weight: torch.Tensor | None = None):
    """[N*slot_k, H] weighted expert rows -> [N, H] = residual + their per-token sum (one launch).

    With norm_weight also returns rms_norm(out) * norm_weight (eps as F.rms_norm's default: the dtype's eps).
    """
    n, h = y.shape[0] // slot_k, y.shape[1]
    if norm_weight is not None and FALLBACKS.get("combine_norm"):
        out = combine_rows(y, slot_k, residual)
        return out, F.rms_norm(out, (h,), norm_weight)
    if norm_weight is not None:
        try:
            return _combine(y, slot_k, residual, norm_weight)
        except Exception as exc:  # noqa: BLE001 - a build failure: the plain combine and torch's norm instead
            if y.device.type == "cuda" and torch.cuda.is_current_stream_capturing():
                raise
            FALLBACKS["combine_norm"] = f"{type(exc).__name__}: {str(exc)[:200]}"
            return combine_rows(y, slot_k, residual, norm_weight)
    return _combine(y, slot_k, residual, None)


def _combine(y: torch.Tensor, slot_k: int, residual, norm_weight):
    n, h = y.shape[0] // slot_k, y.shape[1]
    out = torch.empty(n, h, dtype=y.dtype, device=y.device)
    norm = norm_weight is not None
    normed = torch.empty_like(out) if norm else out
    block = _pow2(h) if norm else min(1024, _pow2(h))
    _combine_kernel[(n, triton.cdiv(h, block))](y, residual if residual is not None else y, out,
                                               norm_weight if norm else y, normed, torch.finfo(y.dtype).eps,
                                               H=h, SLOT_K=slot_k, BLOCK_H=block, HAS_RES=residual is not None,
                                               NORM=norm, num_warps=8 if block >= 2048 else 4)
    return (out, normed) if norm else out


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
