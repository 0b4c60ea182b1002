"""Expert-parallel MoE layer: experts split across ranks, tokens dispatched with an NCCL all-to-all.

Rank r owns experts [r*E_local, (r+1)*E_local). The hidden states arrive replicated (the tensor-parallel
attention before this layer ends in an all-reduce). Two dispatch modes:

- ``all_to_all`` (default): rank r takes its slice of the tokens, [r*ceil(N/W), ...), and sends each of
  their k (token, expert) slots to the expert's owner. Every rank sends every other rank a buffer of fixed
  capacity C = ceil(N/W) * k rows (the most that can go one way, so no token is ever dropped); unused rows
  carry the sentinel expert id E_local and are never computed. Fixed, equal splits need no host sync, so the
  whole step, collectives included, can be captured in a CUDA graph. The expert outputs, weighted on the
  expert's rank, come back with a second all-to-all into the same positions, are summed per token, and land
  in rows [t0, t1) of an [N, H] output that is zero elsewhere.
- ``replicated``: no dispatch: each rank runs its own experts on the slots of all N tokens routed to them.

Either way the caller sums the ranks' outputs with the all-reduce that the tensor-parallel shared expert
needs anyway, so the layer output is replicated again.

Local experts run through tasks/gpu/parallel/local_experts.py: tasks/gpu/triton_moe.py's kernels on GPUs
(ids >= E_local are left uncomputed), or a plain-torch loop on CPU (tests). In all_to_all mode each row
carries its local expert id and routing weight inside the dispatched buffer (one all-to-all each way).
"""
from __future__ import annotations

import torch

from tasks.gpu.engines import MoEWeights
from tasks.gpu.parallel.comm import Comm, shard_range
from tasks.gpu.parallel.local_experts import make_local_experts

DISPATCH_MODES = ("all_to_all", "replicated")


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
                 dispatch: str = "all_to_all") -> None:
        if dispatch not in DISPATCH_MODES:
            raise ValueError(f"dispatch must be one of {DISPATCH_MODES}, got {dispatch!r}")
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

    def __call__(self, xn: torch.Tensor, topk_ids: torch.Tensor, topk_w: torch.Tensor) -> torch.Tensor:
        """This rank's share of the routed output, [N, H] in xn's dtype (sum over ranks = the full layer)."""
        if self.dispatch == "replicated":
            return self._replicated(xn, topk_ids, topk_w)
        return self._all_to_all(xn, topk_ids, topk_w)

    def _replicated(self, xn, topk_ids, topk_w):
        flat = topk_ids.long() - self.expert_lo
        mine = (flat >= 0) & (flat < self.e_local)
        return self.experts(xn, torch.where(mine, flat, self.e_local).to(torch.int32), topk_w)

    def _all_to_all(self, xn, topk_ids, topk_w):
        n, k = topk_ids.shape
        w_size, h = self.comm.world_size, xn.shape[1]
        t0, t1, per = self.token_slice(n)
        rows = w_size * per * k  # each rank sends each rank per*k rows: the most one slice can send one way
        cap = per * k
        flat = topk_ids[t0:t1].reshape(-1).long()
        dest = torch.div(flat, self.e_local, rounding_mode="floor")
        onehot = (dest[:, None] == torch.arange(w_size, device=dest.device)).to(torch.int32)  # no host check
        pos = dest * cap + torch.cumsum(onehot, 0).gather(1, dest[:, None]).squeeze(1) - 1  # row in the send buffer
        # One buffer per row: hidden state, then the local expert id (int32) and routing weight (float32) bit-cast
        # into c + c columns of the activation dtype, so one all-to-all carries tokens and routing together.
        c = 4 // xn.element_size()
        send = torch.empty(rows, h + 2 * c, dtype=xn.dtype, device=xn.device)  # unused rows: never computed
        send[:, :h].index_copy_(0, pos, xn[t0:t1].repeat_interleave(k, 0))
        ids = torch.full((rows,), self.e_local, dtype=torch.int32, device=xn.device)
        ids.index_copy_(0, pos, (flat - dest * self.e_local).to(torch.int32))
        wts = torch.zeros(rows, dtype=torch.float32, device=xn.device)
        wts.index_copy_(0, pos, topk_w[t0:t1].reshape(-1).float())
        send[:, h:h + c].copy_(ids.view(xn.dtype).view(rows, c))
        send[:, h + c:].copy_(wts.view(xn.dtype).view(rows, c))
        recv = torch.empty_like(send)
        self.comm.all_to_all(recv, send)
        y = self.experts(recv[:, :h], recv[:, h:h + c].contiguous().view(torch.int32),
                         recv[:, h + c:].contiguous().view(torch.float32))  # weighted rows
        back = torch.empty_like(y)
        self.comm.all_to_all(back, y)
        out = torch.zeros(n, h, dtype=xn.dtype, device=xn.device)
        out[t0:t1] = back.index_select(0, pos).view(t1 - t0, k, h).sum(1)
        return out

    def info(self) -> dict:
        return {"dispatch": self.dispatch, "experts_per_rank": self.e_local, "expert_lo": self.expert_lo,
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
    moe.comm.all_reduce(ref)
    moe.comm.all_reduce(out)
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
