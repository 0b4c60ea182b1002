"""Routing plan and combine for the grouped Triton MoE kernels (tasks/gpu/triton_moe.py).

routing_plan: one parallel Triton launch builds the slot order stably sorted by expert (equal to
torch.argsort(stable=True)), the per-expert counts and inclusive offsets, and, from the router logits, each slot's
routing weight (softmax over the token's k logits); always-on shared experts become extra slots of weight 1.0.
Rank programs compare their slots with all slots in CHUNK-wide steps (no histogram, no sort); count programs count
BLOCK_S experts each. Past MAX_FUSED_* (or if the launch cannot build) the same plan comes from torch.
combine_rows: one launch sums each token's weighted expert rows, adds the residual and can write the next block's
RMSNorm. A build failure of either launch is recorded in FALLBACKS and the torch path computes the same result.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from tasks.gpu.engines import sort_by_expert

try:
    import triton
    import triton.language as tl
except ImportError:  # CPU-only installs: the torch paths only
    triton = None
    tl = None

MAX_FUSED_SLOTS = 16384  # N*k up to this: routing metadata in one parallel Triton launch; above, torch sort
FALLBACKS: dict[str, str] = {}  # fused launch -> why torch is used instead (build failure), shown in info()
MAX_FUSED_EXPERTS = 1024  # and E up to this (one count program per BLOCK_S experts); the specs go to 256
_RANK_BLOCK, _RANK_CHUNK = 32, 256  # slots ranked per program, slots compared per loop step


def _pow2(n: int) -> int:
    return 1 << max(0, int(n) - 1).bit_length()


if triton is not None:
    @triton.jit
    def _slot_expert(ids_ptr, s, valid, E: tl.constexpr, E_R: tl.constexpr, K: tl.constexpr,
                     SLOT_K: tl.constexpr, LO):
        # Slot s = token * SLOT_K + j: routed expert ids[token, j] - LO for j < K, always-on shared expert
        # E_R + (j - K) after them; padding lanes and routed ids outside [LO, LO + E_R) (another GPU's experts
        # under expert parallelism) get E (a bin that is never stored or computed).
        if SLOT_K == K:
            r = tl.load(ids_ptr + s, mask=valid, other=0).to(tl.int32) - LO
            return tl.where(valid & (r >= 0) & (r < E_R), r, E)
        t = s // SLOT_K
        j = s - t * SLOT_K
        routed = tl.load(ids_ptr + t * K + j, mask=valid & (j < K), other=0).to(tl.int32) - LO
        routed = tl.where((routed >= 0) & (routed < E_R), routed, E)
        e = tl.where(j < K, routed, E_R + j - K)
        return tl.where(valid, e, E)

    @triton.jit
    def _routing_metadata_kernel(ids_ptr, order_ptr, counts_ptr, offsets_ptr, logits_ptr, rw_ptr, n_slots,
                                 n_rank_progs, LO, LOGIT_STRIDE, E: tl.constexpr, E_R: tl.constexpr, K: tl.constexpr,
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
            my_e = _slot_expert(ids_ptr, mine, my_valid, E, E_R, K, SLOT_K, LO)
            pos = tl.zeros((BLOCK_S,), dtype=tl.int32)
            for c0 in range(0, SLOTS_CAP, CHUNK):  # constexpr bound (power-of-two bucket of n_slots)
                j = c0 + tl.arange(0, CHUNK)
                e_j = _slot_expert(ids_ptr, j, j < n_slots, E, E_R, K, SLOT_K, LO)
                same_earlier = (e_j[None, :] == my_e[:, None]) & (j[None, :] < mine[:, None])
                before = (e_j[None, :] < my_e[:, None]) | same_earlier
                pos += tl.sum(before.to(tl.int32), 1)
            tl.store(order_ptr + pos, mine.to(tl.int64), mask=my_valid)
            if HAS_LOGITS:  # the token's K logits as one [BLOCK_S, K_POW2] gather: two dependent loads in all
                tok = mine // SLOT_K
                jj = mine - tok * SLOT_K
                routed = my_valid & (jj < K)
                q = tl.arange(0, K_POW2)
                qm = routed[:, None] & (q[None, :] < K)
                eq = tl.load(ids_ptr + tok[:, None] * K + q[None, :], mask=qm, other=0)
                lq = tl.load(logits_ptr + tok[:, None] * LOGIT_STRIDE + eq, mask=qm,
                             other=float("-inf")).to(tl.float32)
                mx = tl.max(lq, 1)
                mx = tl.where(routed, mx, 0.0)
                den = tl.sum(tl.where(qm, tl.exp(lq - mx[:, None]), 0.0), 1)
                raw = tl.load(ids_ptr + tok * K + jj, mask=routed, other=0)  # global id (logits column)
                mine_l = tl.load(logits_ptr + tok * LOGIT_STRIDE + raw, mask=routed, other=0.0).to(tl.float32)
                rw = tl.where(routed, tl.exp(mine_l - mx) / tl.where(routed, den, 1.0), 1.0)
                tl.store(rw_ptr + mine, rw, mask=my_valid)
        else:
            ex = (pid - n_rank_progs) * BLOCK_S + lane
            cnt = tl.zeros((BLOCK_S,), dtype=tl.int32)
            upto = tl.zeros((BLOCK_S,), dtype=tl.int32)
            for c0 in range(0, SLOTS_CAP, CHUNK):
                j = c0 + tl.arange(0, CHUNK)
                e_j = _slot_expert(ids_ptr, j, j < n_slots, E, E_R, K, SLOT_K, LO)
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


def routing_metadata(topk_ids: torch.Tensor, num_experts: int):
    """order/counts/offsets exactly as engines.sort_by_expert: one Triton launch, or torch past MAX_FUSED_*."""
    order, counts, offsets, _ = routing_plan(topk_ids, num_experts)
    return order, counts, offsets


def routing_plan(topk_ids: torch.Tensor, num_routed: int, num_shared: int = 0,
                 router_logits: torch.Tensor | None = None, expert_lo: int = 0):
    """Slot order, counts, offsets and (with router_logits) per-slot routing weights, in one launch.

    Slots are token-major with num_shared always-on experts (ids num_routed .. num_routed+num_shared-1)
    after each token's top-k; a shared slot's weight is 1.0, a routed slot's the softmax of the token's k
    router logits [N, >= num_routed] (rows may be strided) at its chosen experts. Past MAX_FUSED_* the same
    plan is built with torch. With expert_lo (expert parallelism) routed ids are global: this GPU's experts
    are [expert_lo, expert_lo + num_routed), and slots routed elsewhere sort last and are never counted.
    Returns:
        order [N*(k+S)] int64, counts [E] int32, offsets [E] int32, route_w [N*(k+S)] float32 or None.
    """
    n, k = topk_ids.shape
    e = num_routed + num_shared
    slot_k = k + num_shared
    n_slots = n * slot_k
    dev = topk_ids.device
    if n_slots > MAX_FUSED_SLOTS or e > MAX_FUSED_EXPERTS or FALLBACKS.get("routing_plan"):
        return _torch_plan(topk_ids, num_routed, num_shared, router_logits, expert_lo)
    try:
        return _fused_plan(topk_ids, num_routed, num_shared, router_logits, expert_lo)
    except Exception as exc:  # noqa: BLE001 - a build failure on this GPU/Triton: torch computes the same plan
        if dev.type == "cuda" and torch.cuda.is_current_stream_capturing():
            raise
        FALLBACKS["routing_plan"] = f"{type(exc).__name__}: {str(exc)[:200]}"
        return _torch_plan(topk_ids, num_routed, num_shared, router_logits, expert_lo)


def _torch_plan(topk_ids, num_routed: int, num_shared: int, router_logits, expert_lo: int = 0):
    """routing_plan with torch ops (argsort, index_add, softmax): the path past MAX_FUSED_* and the fallback."""
    n, k = topk_ids.shape
    e, dev = num_routed + num_shared, topk_ids.device
    loc = topk_ids.long() - expert_lo
    ids = torch.where((loc >= 0) & (loc < num_routed), loc, e)  # other GPUs' experts: bin e, dropped below
    if num_shared:
        extra = torch.arange(num_routed, e, device=dev, dtype=ids.dtype).expand(n, num_shared)
        ids = torch.cat([ids, extra], 1)
    order, counts, offsets = sort_by_expert(ids, e + 1)
    counts, offsets = counts[:e].contiguous(), offsets[:e].contiguous()
    rw = None
    if router_logits is not None:
        rw = torch.softmax(router_logits.float().gather(1, topk_ids.long()), -1)
        if num_shared:
            rw = torch.cat([rw, rw.new_ones(n, num_shared)], 1)
        rw = rw.reshape(-1).contiguous()
    return order, counts, offsets, rw


def _fused_plan(topk_ids, num_routed: int, num_shared: int, router_logits, expert_lo: int = 0):
    n, k = topk_ids.shape
    e, slot_k, dev = num_routed + num_shared, k + num_shared, topk_ids.device
    n_slots = n * slot_k
    order = torch.empty(n_slots, dtype=torch.int64, device=dev)
    counts = torch.empty(e, dtype=torch.int32, device=dev)
    offsets = torch.empty(e, dtype=torch.int32, device=dev)
    has_logits = router_logits is not None
    rw = torch.empty(n_slots, dtype=torch.float32, device=dev) if has_logits else None
    if has_logits and router_logits.stride(1) != 1:
        router_logits = router_logits.contiguous()
    logits = router_logits if has_logits else order  # unused pointer when HAS_LOGITS is off
    stride = router_logits.stride(0) if has_logits else 0
    rank_progs = triton.cdiv(n_slots, _RANK_BLOCK)
    grid = (rank_progs + triton.cdiv(e, _RANK_BLOCK),)
    _routing_metadata_kernel[grid](topk_ids.contiguous().reshape(-1), order, counts, offsets, logits,
                                   rw if has_logits else order, n_slots, rank_progs, expert_lo, stride,
                                   E=e, E_R=num_routed, K=k,
                                   SLOT_K=slot_k, K_POW2=max(2, _pow2(k)), HAS_LOGITS=has_logits,
                                   BLOCK_S=_RANK_BLOCK, CHUNK=_RANK_CHUNK,
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
