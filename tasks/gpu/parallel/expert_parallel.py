"""Expert-parallel MoE layer: experts split across ranks, tokens dispatched with an NCCL all-to-all.

Rank r owns experts [r*E_local, (r+1)*E_local). The hidden states arrive replicated (the tensor-parallel
attention before this layer ends in an all-reduce). Two dispatch modes:

- ``all_to_all`` (default): rank r takes its slice of the tokens, [r*ceil(N/W), ...), and sends each of
  their k (token, expert) slots to the expert's owner. Every rank sends every other rank a buffer of fixed
  capacity C = ceil(N/W) * k rows (the most that can go one way, so no token is ever dropped); unused rows
  carry the sentinel expert id E_local and are never computed. Fixed, equal splits need no host sync, so the
  whole step, collectives included, can be captured in a CUDA graph. The expert outputs come back with a
  second all-to-all into the same positions, are weighted and summed per token, and land in rows
  [t0, t1) of an [N, H] output that is zero elsewhere.
- ``replicated``: no dispatch: each rank runs its own experts on the slots of all N tokens routed to them.

Either way the caller sums the ranks' outputs with the all-reduce that the tensor-parallel shared expert
needs anyway, so the layer output is replicated again.

Local experts run through a MoE engine with top_k=1 over the received rows (tasks/gpu/triton_moe.py's
``grouped_triton`` on GPUs, whose routing metadata leaves ids >= E_local uncomputed), or a plain-torch loop
on CPU (tests).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from tasks.gpu.engines import MoEWeights
from tasks.gpu.parallel.comm import Comm, shard_range

DISPATCH_MODES = ("all_to_all", "replicated")


class LocalExpertsTorch:
    """Plain-torch local experts (CPU tests): rows whose id is the sentinel E_local are left at zero."""

    name = "torch_loop"
    graph_safe = False

    def __init__(self, weights: MoEWeights) -> None:
        self.weights = weights

    def __call__(self, x: torch.Tensor, ids: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        wt, i = self.weights, self.weights.inter
        out = torch.zeros(x.shape[0], wt.hidden, dtype=x.dtype, device=x.device)
        flat = ids.reshape(-1)
        for e in range(wt.num_experts):
            rows = torch.nonzero(flat == e).flatten()
            if rows.numel():
                h = x[rows] @ wt.w_gate_up[e].T
                out[rows] = ((F.silu(h[:, :i]) * h[:, i:]) @ wt.w_down[e].T) * w.reshape(-1)[rows, None].to(x.dtype)
        return out

    def info(self) -> dict:
        return {"engine": self.name, "graph_safe": False}


def make_local_experts(weights: MoEWeights, engine: str):
    """The per-rank expert engine: 'grouped_triton' (GPU, graph-safe) or 'torch_loop' (CPU reference)."""
    if engine == "torch_loop":
        return LocalExpertsTorch(weights)
    if engine == "grouped_triton":
        from tasks.gpu.triton_moe import TritonGroupedEngine
        return TritonGroupedEngine(weights, top_k=1)
    raise ValueError(f"unknown local expert engine {engine!r}; accepted: grouped_triton, torch_loop")


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
        rows = topk_ids.numel() if self.dispatch == "replicated" else \
            self.comm.world_size * self.token_slice(topk_ids.shape[0])[2] * self.top_k
        if self.experts.name == "grouped_triton":
            from tasks.gpu.triton_moe import MAX_FUSED_SLOTS
            if rows > MAX_FUSED_SLOTS:  # past it the engine sorts with torch, which rejects the sentinel id
                raise ValueError(f"{rows} dispatched rows exceed grouped_triton's fused routing limit "
                                 f"{MAX_FUSED_SLOTS}: use fewer tokens per step")
        if self.dispatch == "replicated":
            return self._replicated(xn, topk_ids, topk_w)
        return self._all_to_all(xn, topk_ids, topk_w)

    def _replicated(self, xn, topk_ids, topk_w):
        n, k = topk_ids.shape
        flat = topk_ids.reshape(-1).long() - self.expert_lo
        mine = (flat >= 0) & (flat < self.e_local)
        ids = torch.where(mine, flat, self.e_local).to(torch.int32)
        rows = xn.repeat_interleave(k, 0)
        y = self.experts(rows, ids.view(-1, 1), torch.ones(n * k, 1, device=xn.device, dtype=torch.float32))
        y = torch.where(mine[:, None], y, 0).float() * topk_w.reshape(-1, 1).float()
        return y.view(n, k, -1).sum(1).to(xn.dtype)

    def _all_to_all(self, xn, topk_ids, topk_w):
        n, k = topk_ids.shape
        w_size, h = self.comm.world_size, xn.shape[1]
        t0, t1, per = self.token_slice(n)
        cap = per * k  # rows each rank sends each rank
        flat = topk_ids[t0:t1].reshape(-1).long()
        dest = torch.div(flat, self.e_local, rounding_mode="floor")
        onehot = (dest[:, None] == torch.arange(w_size, device=dest.device)).to(torch.int32)  # no host check
        rank_in_dest = torch.cumsum(onehot, 0).gather(1, dest[:, None]).squeeze(1) - 1
        pos = dest * cap + rank_in_dest  # row of each slot in the send buffer (block `dest`)
        send_x = torch.empty(w_size * cap, h, dtype=xn.dtype, device=xn.device)  # unused rows: never computed
        send_x.index_copy_(0, pos, xn[t0:t1].repeat_interleave(k, 0))
        send_id = torch.full((w_size * cap,), self.e_local, dtype=torch.int32, device=xn.device)
        send_id.index_copy_(0, pos, (flat - dest * self.e_local).to(torch.int32))
        recv_x, recv_id = torch.empty_like(send_x), torch.empty_like(send_id)
        self.comm.all_to_all(recv_x, send_x)
        self.comm.all_to_all(recv_id, send_id)
        y = self.experts(recv_x, recv_id.view(-1, 1), torch.ones(w_size * cap, 1, device=xn.device,
                                                                  dtype=torch.float32))
        back = torch.empty_like(y)
        self.comm.all_to_all(back, y)
        mine = back.index_select(0, pos).float() * topk_w[t0:t1].reshape(-1, 1).float()
        out = torch.zeros(n, h, dtype=xn.dtype, device=xn.device)
        out[t0:t1] = mine.view(t1 - t0, k, h).sum(1).to(xn.dtype)
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
