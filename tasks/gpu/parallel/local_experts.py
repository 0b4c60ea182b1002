"""Per-rank expert engines for expert parallelism: rows whose expert id is the sentinel E_local contribute zero.

forward(x [rows, H], ids [rows, k] int32, w [rows, k] float) -> sum_j w[r,j] * expert_{ids[r,j]}(x[r]), [rows, H],
with every slot whose id is E_local (not this rank's expert) skipped and counted as zero.

``grouped_triton`` launches tasks/gpu/triton_moe.py's kernels unchanged (its routing metadata leaves ids >= E
uncomputed); the only difference from its engine is that the per-slot output starts at zero, so skipped slots
add nothing to each row's sum (and with k=1 the rows are returned without the sum). ``torch_loop`` is the
plain-torch CPU reference.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from tasks.gpu.engines import MoEWeights


class LocalExpertsTorch:
    """Plain-torch local experts (CPU tests)."""

    name = "torch_loop"
    graph_safe = False

    def __init__(self, weights: MoEWeights) -> None:
        self.weights = weights

    def __call__(self, x: torch.Tensor, ids: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        wt, i = self.weights, self.weights.inter
        out = torch.zeros(x.shape[0], wt.hidden, dtype=torch.float32, device=x.device)
        for e in range(wt.num_experts):
            tok, slot = torch.where(ids == e)
            if tok.numel():
                h = x[tok] @ wt.w_gate_up[e].T
                y = (F.silu(h[:, :i]) * h[:, i:]) @ wt.w_down[e].T
                out.index_add_(0, tok, y.float() * w[tok, slot, None].float())
        return out.to(x.dtype)

    def run_plan(self, x, ids, expert_lo: int, logits=None, weights=None, residual=None, out=None):
        """residual + sum over the slots routed to this GPU (global ids) of w * expert(x) [N, H]; w from the
        softmax of the token's k router logits, or given."""
        if logits is not None:
            weights = torch.softmax(logits.float().gather(1, ids.long()), -1)
        loc = ids.long() - expert_lo
        loc = torch.where((loc >= 0) & (loc < self.weights.num_experts), loc, self.weights.num_experts)
        y = self(x, loc, weights)
        y = y if residual is None else y + residual
        return y if out is None else out.copy_(y)

    def info(self) -> dict:
        return {"engine": self.name, "graph_safe": False}


class LocalExpertsTriton:
    """tasks/gpu/triton_moe.py's fused kernels with a zero-initialised per-slot output (graph-safe)."""

    name = "grouped_triton"
    graph_safe = True

    def __init__(self, weights: MoEWeights) -> None:
        from tasks.gpu import triton_moe
        self._tm = triton_moe
        self.engine = triton_moe.TritonGroupedEngine(weights, top_k=1)  # checks device, layout, triton
        self.weights = weights

    def __call__(self, x: torch.Tensor, ids: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        tm, wt = self._tm, self.weights
        n, k = ids.shape
        e, h, i = wt.num_experts, wt.hidden, wt.inter
        n_slots = n * k
        if n_slots > tm.MAX_FUSED_SLOTS or e > tm.MAX_FUSED_EXPERTS:  # past these the engine sorts with torch,
            raise ValueError(f"{n_slots} slots / {e} experts exceed grouped_triton's fused routing limits "  # which
                             f"({tm.MAX_FUSED_SLOTS} / {tm.MAX_FUSED_EXPERTS}): use fewer tokens per step")  # rejects E
        bucket, e_pow2 = tm._pow2(n_slots), tm._pow2(e)
        order, counts, _ = tm.routing_metadata(ids.contiguous(), e)
        x = x.contiguous()
        act = torch.empty(n_slots, i, dtype=x.dtype, device=x.device)
        tm._launch(tm._gate_up_kernel, lambda meta: (tm.max_row_blocks(n_slots, e, meta["BLOCK_M"]),
                                                     tm.triton.cdiv(i, meta["BLOCK_N"])),
                   x, wt.w_gate_up, act, order, counts, h, i, bucket, E=e, E_POW2=e_pow2, TOP_K=k)
        y = (torch.zeros if k > 1 else torch.empty)(n_slots, h, dtype=x.dtype, device=x.device)
        route_w = w.reshape(-1).float().contiguous()
        tm._launch(tm._down_kernel, lambda meta: (tm.max_row_blocks(n_slots, e, meta["BLOCK_M"]),
                                                  tm.triton.cdiv(h, meta["BLOCK_N"])),
                   act, wt.w_down, y, route_w, order, counts, h, i, bucket, E=e, E_POW2=e_pow2)
        return y if k == 1 else y.view(n, k, h).sum(1)  # k=1: sentinel rows hold garbage, the caller skips them

    def run_plan(self, x, ids, expert_lo: int, logits=None, weights=None, residual=None, out=None):
        """Fused path: one routing-plan launch (this GPU's slots of the global ids sorted by expert, the others
        last and never computed; routing weights from the router logits' softmax unless given), the two grouped
        launches, and one combine launch that sums each token's local slots onto residual into out. 4 launches."""
        from tasks.gpu.parallel.fused import local_combine
        tm, e, k = self._tm, self.weights.num_experts, ids.shape[1]
        order, counts, _, rw = tm.routing_plan(ids, e, 0, logits, expert_lo=expert_lo)
        if rw is None:
            rw = weights.reshape(-1).float().contiguous()
        y = self.engine._experts(x, order, counts, rw, k, e)
        return local_combine(y, ids, expert_lo, e, residual, out)

    def info(self) -> dict:
        return {**self.engine.info(), "engine": "grouped_triton (tasks/gpu/triton_moe.py kernels, zeroed slots)"}


def make_local_experts(weights: MoEWeights, engine: str):
    """The per-rank expert engine: 'grouped_triton' (GPU, graph-safe) or 'torch_loop' (CPU reference)."""
    if engine == "torch_loop":
        return LocalExpertsTorch(weights)
    if engine == "grouped_triton":
        return LocalExpertsTriton(weights)
    raise ValueError(f"unknown local expert engine {engine!r}; accepted: grouped_triton, torch_loop")
