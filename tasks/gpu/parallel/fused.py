"""Issue 15's fused per-GPU launches, as the sharded step uses them (tasks/gpu/parallel/stack.py, fused=True).

- add_norm: residual + the all-reduced block output, and the next RMSNorm of the sum, in one launch
  (tasks/gpu/moe_plan.combine_rows with one slot per row).
- local_combine: the k weighted expert rows of each token summed into one row, counting only the slots whose
  expert lives on this GPU (the others were never computed and hold garbage), plus a residual (the tensor-
  parallel shared expert's partial output) in the same launch, written where the caller says (the all-reduce's
  buffer). Torch computes the same on CPU.
- silu_mul: SiLU(gate) * up of a fused [gate | up] GEMM output (torch; two launches).
"""
from __future__ import annotations

import os

import torch
import torch.nn.functional as F

from tasks.gpu.moe_plan import _pow2, combine_rows

try:
    import triton
    import triton.language as tl
except ImportError:  # CPU-only installs: the torch paths only
    triton = None
    tl = None


if triton is not None:
    @triton.jit
    def _local_combine_kernel(y_ptr, ids_ptr, res_ptr, out_ptr, LO, H: tl.constexpr, K: tl.constexpr,
                              E_L: tl.constexpr, BLOCK_H: tl.constexpr, HAS_RES: tl.constexpr):
        # out[t] = res[t] + sum over j with LO <= ids[t, j] < LO + E_L of y[t*K + j]; float accumulation.
        t = tl.program_id(0).to(tl.int64)
        offs = tl.program_id(1) * BLOCK_H + tl.arange(0, BLOCK_H)
        m = offs < H
        acc = tl.zeros((BLOCK_H,), dtype=tl.float32)
        if HAS_RES:
            acc += tl.load(res_ptr + t * H + offs, mask=m, other=0.0).to(tl.float32)
        for j in tl.static_range(K):
            e = tl.load(ids_ptr + t * K + j).to(tl.int32) - LO
            mine = (e >= 0) & (e < E_L)
            lim = tl.where(mine, H, 0)  # other GPUs' slots: nothing read (their rows were never written)
            acc += tl.load(y_ptr + (t * K + j) * H + offs, mask=offs < lim, other=0.0).to(tl.float32)
        tl.store(out_ptr + t * H + offs, acc.to(out_ptr.dtype.element_ty), mask=m)


def local_combine(y: torch.Tensor, ids: torch.Tensor, expert_lo: int, e_local: int,
                  residual: torch.Tensor | None = None, out: torch.Tensor | None = None) -> torch.Tensor:
    """[N*k, H] weighted slot rows -> [N, H]: residual + the sum of each token's slots routed to this GPU.

    Args:
        ids: [N, k] global expert ids; slots with ids outside [expert_lo, expert_lo + e_local) are skipped.
        out: [N, H] contiguous destination (e.g. the all-reduce's buffer); new when None.
    """
    n, k = ids.shape
    h = y.shape[1]
    out = torch.empty(n, h, dtype=y.dtype, device=y.device) if out is None else out
    if triton is None or not (y.is_cuda or os.environ.get("TRITON_INTERPRET") == "1"):
        loc = ids.long() - expert_lo
        mine = ((loc >= 0) & (loc < e_local))[:, :, None]
        acc = torch.where(mine, y.view(n, k, h).float(), 0.0).sum(1)  # other GPUs' slots hold garbage
        if residual is not None:
            acc += residual.float()
        return out.copy_(acc)
    block = min(1024, _pow2(h))
    ids = ids.contiguous()
    _local_combine_kernel[(n, triton.cdiv(h, block))](y, ids, residual if residual is not None else y, out,
                                                     expert_lo, H=h, K=k, E_L=e_local, BLOCK_H=block,
                                                     HAS_RES=residual is not None, num_warps=4)
    return out


def add_norm(x: torch.Tensor, y: torch.Tensor, norm_weight: torch.Tensor, fused: bool = True):
    """(x + y, rms_norm(x + y) * norm_weight): one launch when fused (Triton), three with torch."""
    if fused:
        return combine_rows(y.contiguous(), 1, x, norm_weight)
    out = x + y
    return out, F.rms_norm(out, (out.shape[-1],), norm_weight)


def silu_mul(gate_up: torch.Tensor) -> torch.Tensor:
    """SiLU(gate) * up for [rows, 2I] = [gate | up] (a column slice of a wider GEMM output is fine)."""
    half = gate_up.shape[-1] // 2
    return F.silu(gate_up[:, :half]) * gate_up[:, half:]
