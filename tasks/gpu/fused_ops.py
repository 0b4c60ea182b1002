"""Fused Triton ops for the non-expert part of a diffusion step (used by tasks/gpu/harness.py when fused).

rope_qkv_write: one launch takes the fused QKV projection [N, (nh + 2 nkv) d], applies RoPE to q and k
(rotate-half convention, the harness's cos/sin tables), writes q as [N, nh, d] (the layout SDPA reads as
B,S,H,D) and k, v straight into the layer's KV cache at positions P..P+N-1. It replaces the slice, cat,
neg, two multiplies, addcmul and the two strided cache copies of the unfused path (about eight launches).

norm_router: the FFN's RMSNorm and the router GEMM in one launch (normed rows and float32 logits out).
"""
from __future__ import annotations

import torch

try:
    import triton
    import triton.language as tl
except ImportError:  # CPU-only installs: callers use the torch path
    triton = None
    tl = None


if triton is not None:
    @triton.jit
    def _rope_qkv_kernel(qkv_ptr, cos_ptr, sin_ptr, q_ptr, k_ptr, v_ptr, P, CTX, NH: tl.constexpr,
                         NKV: tl.constexpr, HALF: tl.constexpr):
        t = tl.program_id(0)
        hd = tl.program_id(1)  # head index over q heads, then k heads, then v heads
        d = 2 * HALF
        offs = tl.arange(0, HALF)
        row = qkv_ptr + t.to(tl.int64) * ((NH + 2 * NKV) * d) + hd * d
        a = tl.load(row + offs).to(tl.float32)
        b = tl.load(row + HALF + offs).to(tl.float32)
        if hd < NH + NKV:
            c1 = tl.load(cos_ptr + t * d + offs).to(tl.float32)
            c2 = tl.load(cos_ptr + t * d + HALF + offs).to(tl.float32)
            s1 = tl.load(sin_ptr + t * d + offs).to(tl.float32)
            s2 = tl.load(sin_ptr + t * d + HALF + offs).to(tl.float32)
            lo = a * c1 - b * s1
            hi = b * c2 + a * s2
            if hd < NH:
                dst = q_ptr + (t.to(tl.int64) * NH + hd) * d
            else:
                dst = k_ptr + ((hd - NH).to(tl.int64) * CTX + P + t) * d
        else:
            lo = a
            hi = b
            dst = v_ptr + ((hd - NH - NKV).to(tl.int64) * CTX + P + t) * d
        tl.store(dst + offs, lo.to(q_ptr.dtype.element_ty))
        tl.store(dst + HALF + offs, hi.to(q_ptr.dtype.element_ty))


def rope_qkv_write(qkv: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, k_cache: torch.Tensor,
                   v_cache: torch.Tensor, prefix_len: int, num_heads: int, num_kv_heads: int) -> torch.Tensor:
    """RoPE on q and k, k and v written into the caches [1, nkv, ctx, d] at rows prefix_len.., q returned [N, nh, d].

    Args:
        qkv: [N, (nh + 2 nkv) d] contiguous.
        cos, sin: [>= N, d] tables (rotate-half: both halves of a row hold the same angles).
    """
    n = qkv.shape[0]
    d = k_cache.shape[-1]
    if (d & (d - 1)) or not (qkv.is_contiguous() and k_cache.is_contiguous() and v_cache.is_contiguous()):
        raise ValueError("rope_qkv_write needs a power-of-two head_dim and contiguous qkv / caches")
    q = torch.empty(n, num_heads, d, dtype=qkv.dtype, device=qkv.device)
    _rope_qkv_kernel[(n, num_heads + 2 * num_kv_heads)](qkv, cos.contiguous(), sin.contiguous(), q, k_cache, v_cache,
                                                      prefix_len, k_cache.shape[2], NH=num_heads, NKV=num_kv_heads,
                                                      HALF=d // 2, num_warps=1)
    return q


if triton is not None:
    @triton.jit
    def _norm_router_kernel(x_ptr, nw_ptr, w_ptr, xn_ptr, logits_ptr, M, eps, H: tl.constexpr, E: tl.constexpr,
                            BLOCK_M: tl.constexpr, BLOCK_E: tl.constexpr, BLOCK_K: tl.constexpr):
        # Program (m, e): rows [m*BLOCK_M, +BLOCK_M), experts [e*BLOCK_E, +BLOCK_E). The rows' RMS is taken in a
        # first pass over x (a few KB, from L2); the second pass normalises x on the fly, multiplies it with the
        # router weights, and programs e == 0 also store the normed rows (the MoE experts' input).
        pid_m = tl.program_id(0)
        pid_e = tl.program_id(1)
        rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
        r_mask = rows < M
        offs_k = tl.arange(0, BLOCK_K)
        ss = tl.zeros((BLOCK_M,), dtype=tl.float32)
        for k0 in range(0, H, BLOCK_K):
            a = tl.load(x_ptr + rows[:, None] * H + k0 + offs_k[None, :], mask=r_mask[:, None], other=0.0)
            a = a.to(tl.float32)
            ss += tl.sum(a * a, 1)
        rstd = 1.0 / tl.sqrt(ss / H + eps)
        offs_e = pid_e * BLOCK_E + tl.arange(0, BLOCK_E)
        e_mask = offs_e < E
        acc = tl.zeros((BLOCK_M, BLOCK_E), dtype=tl.float32)
        for k0 in range(0, H, BLOCK_K):
            kk = k0 + offs_k
            a = tl.load(x_ptr + rows[:, None] * H + kk[None, :], mask=r_mask[:, None], other=0.0).to(tl.float32)
            nw = tl.load(nw_ptr + kk).to(tl.float32)
            an = (a * rstd[:, None] * nw[None, :]).to(xn_ptr.dtype.element_ty)
            if pid_e == 0:
                tl.store(xn_ptr + rows[:, None] * H + kk[None, :], an, mask=r_mask[:, None])
            w = tl.load(w_ptr + offs_e[None, :] * H + kk[:, None], mask=e_mask[None, :], other=0.0)
            acc = tl.dot(an, w, acc)
        tl.store(logits_ptr + rows[:, None] * E + offs_e[None, :], acc, mask=r_mask[:, None] & e_mask[None, :])


def norm_router(x: torch.Tensor, norm_weight: torch.Tensor, router: torch.Tensor):
    """(rms_norm(x) * norm_weight, router logits [N, E] float32) in one launch; eps as F.rms_norm's default.

    Args:
        x: [N, H] contiguous; norm_weight: [H]; router: [E, H] contiguous; H a multiple of 16.
    """
    n, h = x.shape
    e = router.shape[0]
    block_k = min(256, h & -h)  # the largest power of two dividing H, at most 256
    if block_k < 16 or not (x.is_contiguous() and router.is_contiguous()):
        raise ValueError("norm_router needs contiguous x / router and a hidden size that is a multiple of 16")
    xn = torch.empty_like(x)
    logits = torch.empty(n, e, dtype=torch.float32, device=x.device)
    block_m = 16 if n <= 16 else 32
    block_e = 16
    _norm_router_kernel[(triton.cdiv(n, block_m), triton.cdiv(e, block_e))](
        x, norm_weight, router, xn, logits, n, torch.finfo(x.dtype).eps, H=h, E=e, BLOCK_M=block_m,
        BLOCK_E=block_e, BLOCK_K=block_k, num_warps=4, num_stages=3)
    return xn, logits
