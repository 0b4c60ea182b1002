"""Fused Triton ops for the non-expert part of a diffusion step (used by tasks/gpu/harness.py when fused).

rope_qkv_write: one launch takes the fused QKV projection [N, (nh + 2 nkv) d], applies RoPE to q and k
(rotate-half convention, the harness's cos/sin tables), writes q as [N, nh, d] (the layout SDPA reads as
B,S,H,D) and k, v straight into the layer's KV cache at positions P..P+N-1. It replaces the slice, cat,
neg, two multiplies, addcmul and the two strided cache copies of the unfused path (about eight launches).
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
