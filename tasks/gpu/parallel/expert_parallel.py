"""Expert-parallel MoE layer: experts split across ranks, tokens dispatched with an NCCL all-to-all.

Rank r owns experts [r*E_local, (r+1)*E_local). The hidden states arrive replicated (the tensor-parallel
attention before this layer ends in an all-reduce). Two dispatch modes:

- ``all_to_all`` (default): rank r takes its slice of the tokens, [r*ceil(N/W), ...), and sends each of them
  ONCE to every GPU (DeepEP style: one row per (token, GPU), not one per (token, expert) slot), with the
  token's k expert ids as that GPU's local ids (the sentinel E_local where the expert lives elsewhere) and its
  k routing weights riding in the same row. The buffers have a fixed capacity of ceil(N/W) rows per GPU pair
  and fixed row positions (a token's row is its index in the slice), so no host sync is needed and the whole
  step, collectives included, is captured in a CUDA graph. Each GPU sums the weighted outputs of a row's
  local experts on its side: one row per (token, GPU). Two ways back (``combine``):
  ``all_reduce`` (default): a received row's position is its token's global index (source slice start +
  index in the slice), so the expert side writes its rows straight into the [N, H] buffer that the layer's
  all-reduce sums anyway (with the tensor-parallel shared expert's partial output): the all-reduce is the
  combine, and the layer makes one all-to-all (the dispatch). ``all_to_all`` (DeepEP's return trip): a
  second all-to-all sends the rows back to the token's owner, which adds the W rows into rows [t0, t1) of an
  [N, H] output (zero elsewhere, or the residual given) before the same all-reduce.
- ``replicated``: no dispatch: each rank runs its own experts on the slots of all N tokens routed to them.

Either way the caller sums the ranks' outputs with the all-reduce that the tensor-parallel shared expert
needs anyway (the shared expert's partial output can come in as ``residual``), so the layer output is
replicated again.

Local experts run through tasks/gpu/parallel/local_experts.py: tasks/gpu/triton_moe.py's kernels with
tasks/gpu/moe_plan.py's routing plan and a local-slot combine on GPUs (4 launches), or a plain-torch loop on
CPU (tests).
"""
from __future__ import annotations

import torch

from tasks.gpu.engines import MoEWeights
from tasks.gpu.parallel.comm import Comm, shard_range
from tasks.gpu.parallel.local_experts import make_local_experts

DISPATCH_MODES = ("all_to_all", "replicated")
COMBINE_MODES = ("all_reduce", "all_to_all")  # all_to_all dispatch: how the expert side's rows come back


class ExpertParallelMoE:
    """Routed experts of one MoE layer, sharded over ranks.

    Args:
        local: this rank's experts, MoEWeights with E_local = num_experts / world_size experts.
        num_experts: E of the whole layer.
        top_k: experts per token.
        comm: tasks.gpu.parallel.comm.Comm.
        engine: local expert engine name (make_local_experts).
        dispatch: 'all_to_all' or 'replicated'.
    """

    def __init__(self, local: MoEWeights, num_experts: int, top_k: int, comm: Comm, engine: str = "grouped_triton",
                 dispatch: str = "all_to_all", combine: str = "all_reduce") -> None:
        if dispatch not in DISPATCH_MODES:
            raise ValueError(f"dispatch must be one of {DISPATCH_MODES}, got {dispatch!r}")
        if combine not in COMBINE_MODES:
            raise ValueError(f"combine must be one of {COMBINE_MODES}, got {combine!r}")
        self.combine = combine
        lo, hi = shard_range(num_experts, comm.world_size, comm.rank, "num_experts")
        if local.num_experts != hi - lo:
            raise ValueError(f"rank {comm.rank} holds {local.num_experts} experts, expected {hi - lo}")
        self.e_local, self.expert_lo = hi - lo, lo
        self.num_experts, self.top_k, self.comm, self.dispatch = num_experts, top_k, comm, dispatch
        self.experts = make_local_experts(local, engine)
        self.graph_safe = getattr(self.experts, "graph_safe", False)

    def token_slice(self, n_tokens: int) -> tuple[int, int, int]:
        """(t0, t1, per-rank capacity in tokens) of this rank's tokens in all_to_all mode."""
        per = -(-n_tokens // self.comm.world_size)
        t0 = min(n_tokens, self.comm.rank * per)
        return t0, min(n_tokens, t0 + per), per

    def __call__(self, xn: torch.Tensor, topk_ids: torch.Tensor, topk_w: torch.Tensor | None = None,
                 logits: torch.Tensor | None = None, residual: torch.Tensor | None = None,
                 out: torch.Tensor | None = None) -> torch.Tensor:
        """This rank's share of the routed output (+ residual), [N, H] in xn's dtype (sum over ranks = the layer).

        Routing weights: topk_w [N, k], or the softmax of router ``logits`` [N, E] at topk_ids (inside the
        routing-plan launch on GPUs). out: where to write (e.g. the all-reduce's buffer), new when None.
        """
        if topk_w is None and logits is None:
            raise ValueError("give the routing weights (topk_w) or the router logits")
        if self.dispatch == "replicated":
            return self.experts.run_plan(xn, topk_ids, self.expert_lo, logits=logits, weights=topk_w,
                                         residual=residual, out=out)
        return self._all_to_all(xn, topk_ids, topk_w, logits, residual, out)

    def _all_to_all(self, xn, topk_ids, topk_w, logits, residual, out):
        n, k = topk_ids.shape
        w_size, h, e_l = self.comm.world_size, xn.shape[1], self.e_local
        t0, t1, per = self.token_slice(n)
        nl = t1 - t0
        ids = topk_ids[t0:t1].long()
        wts = (topk_w[t0:t1].float() if topk_w is not None
               else torch.softmax(logits[t0:t1].float().gather(1, ids), -1))
        # One row per (GPU, token): hidden state, then the token's k local ids (int32) and k weights (float32)
        # bit-cast into k*c + k*c columns of the activation dtype, so one all-to-all carries tokens and routing.
        c = 4 // xn.element_size()
        send = torch.empty(w_size, per, h + 2 * k * c, dtype=xn.dtype, device=xn.device)
        send[:, :nl, :h] = xn[t0:t1]
        loc = ids[None] - (torch.arange(w_size, device=xn.device) * e_l)[:, None, None]  # [W, nl, k]
        meta_i = torch.full((w_size, per, k), e_l, dtype=torch.int32, device=xn.device)  # padding rows: sentinel
        meta_i[:, :nl] = torch.where((loc >= 0) & (loc < e_l), loc, e_l)
        meta_w = torch.zeros(w_size, per, k, dtype=torch.float32, device=xn.device)
        meta_w[:, :nl] = wts
        send[:, :, h:h + k * c] = meta_i.view(xn.dtype)
        send[:, :, h + k * c:] = meta_w.view(xn.dtype)
        recv = torch.empty_like(send)
        self.comm.all_to_all(recv.view(w_size * per, -1), send.view(w_size * per, -1))
        rows = w_size * per
        x_r = recv[:, :, :h].reshape(rows, h)
        ids_r = recv[:, :, h:h + k * c].contiguous().view(torch.int32).view(rows, k)
        w_r = recv[:, :, h + k * c:].contiguous().view(torch.float32).view(rows, k)
        if self.combine == "all_reduce":  # row src*per + i is token src*per + i; rows >= N are padding
            return self.experts.run_plan(x_r[:n], ids_r[:n], 0, weights=w_r[:n], residual=residual, out=out)
        y = self.experts.run_plan(x_r, ids_r, 0, weights=w_r)
        back = torch.empty_like(y)
        self.comm.all_to_all(back, y)  # one row per (token, GPU): the GPU's local experts already summed
        if out is None:
            out = torch.empty(n, h, dtype=xn.dtype, device=xn.device)
        out.copy_(residual) if residual is not None else out.zero_()
        out[t0:t1] += back.view(w_size, per, h)[:, :nl].sum(0)
        return out

    def info(self) -> dict:
        return {"dispatch": self.dispatch, "experts_per_rank": self.e_local, "expert_lo": self.expert_lo,
                "combine": self.combine if self.dispatch == "all_to_all" else "all_reduce (no dispatch)",
                "local_engine": self.experts.info()}


def check_against_reference(moe: ExpertParallelMoE, xn: torch.Tensor, topk_ids: torch.Tensor,
                            topk_w: torch.Tensor) -> float:
    """Relative error of the dispatched layer (summed over ranks) against the float32 reference of the same
    experts: each rank's reference covers its own experts; both sides are summed with an all-reduce."""
    from tasks.gpu.engines import reference_moe
    flat = topk_ids.long() - moe.expert_lo
    mine = (flat >= 0) & (flat < moe.e_local)
    ref = reference_moe(moe.experts.weights, xn, torch.where(mine, flat, 0).to(torch.int32),
                        torch.where(mine, topk_w.float(), 0.0))
    out = moe(xn, topk_ids, topk_w).float()
    ref, out = moe.comm.all_reduce(ref), moe.comm.all_reduce(out)
    from tasks.gpu.engines import relative_error
    return relative_error(out, ref)


def unique_experts_per_rank(routing, num_experts: int, world_size: int) -> list[float]:
    """Mean distinct experts per MoE layer per step that each rank owns, from (S, L, N, k) routing ids."""
    import numpy as np
    per = num_experts // world_size
    r = np.asarray(routing)
    out = []
    for rank in range(world_size):
        lo, hi = rank * per, (rank + 1) * per
        counts = [[len(np.unique(x[(x >= lo) & (x < hi)])) for x in step] for step in r]
        out.append(float(np.mean(counts)) if counts else 0.0)
    return out
