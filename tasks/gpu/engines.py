"""MoE FFN engines behind one interface: forward(x[N,H], topk_ids[N,k], topk_weights[N,k]) -> [N,H].

All engines share one set of expert weights (SwiGLU experts):
    w_gate_up [E, 2I, H]  rows [0, I) are the gate projection, rows [I, 2I) the up projection
    w_down    [E, H, I]
and compute  out[t] = sum_j  w[t,j] * down_e( silu(gate_e x_t) * up_e x_t ),  e = topk_ids[t,j].

Engines: ``loop`` (per-expert, HF style), ``grouped`` (tokens sorted by expert, torch._grouped_mm with fused
gate/up), ``grouped_triton`` (fused Triton kernels, tasks/gpu/triton_moe.py), ``deepspeed`` (DeepSpeed-MoE
training layer) and ``deepspeed_v2`` (DeepSpeed inference-v2/FastGen CUTLASS MoE GEMM); the last two live in
tasks/gpu/deepspeed_engines.py and import deepspeed lazily.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

ENGINE_NAMES = ("loop", "grouped", "grouped_triton", "deepspeed", "deepspeed_v2")


@dataclass
class MoEWeights:
    """Routed-expert weights shared by every engine."""

    w_gate_up: torch.Tensor  # [E, 2I, H]
    w_down: torch.Tensor  # [E, H, I]

    def __post_init__(self) -> None:
        e, two_i, h = self.w_gate_up.shape
        if two_i % 2 or self.w_down.shape != (e, h, two_i // 2):
            raise ValueError(f"expert weights disagree: w_gate_up {tuple(self.w_gate_up.shape)} needs "
                             f"w_down (E, H, I) = {(e, h, two_i // 2)}, got {tuple(self.w_down.shape)}")

    @property
    def num_experts(self) -> int:
        return self.w_gate_up.shape[0]

    @property
    def hidden(self) -> int:
        return self.w_gate_up.shape[2]

    @property
    def inter(self) -> int:
        return self.w_down.shape[2]

    def bytes_per_expert(self) -> int:
        """Weight bytes of one expert (gate + up + down)."""
        return (self.w_gate_up[0].numel() + self.w_down[0].numel()) * self.w_gate_up.element_size()

    @classmethod
    def random(cls, num_experts: int, hidden: int, inter: int, dtype=torch.bfloat16, device="cpu",
               seed: int = 0) -> "MoEWeights":
        """Random weights scaled like a trained layer (unit-variance activations stay O(1)).

        Args:
            num_experts, hidden, inter: E, H, I.
            dtype, device: where the weights live.
            seed: generator seed.
        """
        g = torch.Generator(device=device).manual_seed(seed)
        w1 = torch.randn(num_experts, 2 * inter, hidden, generator=g, device=device, dtype=dtype)
        w1.mul_(hidden ** -0.5)
        w2 = torch.randn(num_experts, hidden, inter, generator=g, device=device, dtype=dtype)
        w2.mul_(inter ** -0.5)
        return cls(w1, w2)


class MoEEngine:
    """Base class. Subclasses set ``name``/``graph_safe`` and implement ``forward``."""

    name = "base"
    graph_safe = False  # True when forward has no host sync and can be captured in a CUDA graph

    def __init__(self, weights: MoEWeights, top_k: int) -> None:
        if not 1 <= top_k <= weights.num_experts:
            raise ValueError(f"top_k must be in [1, num_experts={weights.num_experts}], got {top_k}")
        self.weights = weights
        self.top_k = top_k

    def forward(self, x: torch.Tensor, topk_ids: torch.Tensor, topk_weights: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def __call__(self, x, topk_ids, topk_weights):
        return self.forward(x, topk_ids, topk_weights)

    def info(self) -> dict:
        """Engine details stored with each result (kernel choices, versions)."""
        return {"engine": self.name, "graph_safe": self.graph_safe}


def reference_moe(weights: MoEWeights, x: torch.Tensor, topk_ids: torch.Tensor,
                  topk_weights: torch.Tensor) -> torch.Tensor:
    """Float32 reference: per expert, its tokens through float32 gate/up/down, weighted and summed in float32."""
    i = weights.inter
    xf = x.float()
    out = torch.zeros(x.shape[0], weights.hidden, dtype=torch.float32, device=x.device)
    for e in torch.unique(topk_ids).tolist():
        tok, slot = torch.where(topk_ids == e)
        h = xf[tok] @ weights.w_gate_up[e].float().T
        y = (F.silu(h[:, :i]) * h[:, i:]) @ weights.w_down[e].float().T
        out.index_add_(0, tok, y * topk_weights[tok, slot, None].float())
    return out


def relative_error(out: torch.Tensor, ref: torch.Tensor) -> float:
    """||out - ref|| / ||ref|| in float64; NaN anywhere gives inf."""
    out64, ref64 = out.double(), ref.double()
    if not torch.isfinite(out64).all():
        return float("inf")
    return float((out64 - ref64).norm() / ref64.norm().clamp_min(1e-30))


class LoopEngine(MoEEngine):
    """HF-style reference: loop over the experts that were hit, gather their tokens, run, index_add back."""

    name = "loop"

    def forward(self, x, topk_ids, topk_weights):
        w = self.weights
        out = torch.zeros(x.shape[0], w.hidden, dtype=torch.float32, device=x.device)
        expert_mask = F.one_hot(topk_ids.long(), w.num_experts).permute(2, 1, 0)  # [E, k, N]
        hit = torch.nonzero(expert_mask.sum(dim=(1, 2)) > 0).flatten().tolist()  # host sync, as in HF
        i = w.inter
        for e in hit:
            slot, tok = torch.where(expert_mask[e])
            xe = x.index_select(0, tok)
            h = xe @ w.w_gate_up[e].T
            y = (F.silu(h[:, :i]) * h[:, i:]) @ w.w_down[e].T
            out.index_add_(0, tok, y.float() * topk_weights[tok, slot, None].float())
        return out.to(x.dtype)


def sort_by_expert(topk_ids: torch.Tensor, num_experts: int):
    """Sync-free routing metadata: slot order sorted by expert, per-expert counts and inclusive offsets.

    Returns:
        order [N*k] int64 (flat slot index of each sorted row), counts [E] int32, offsets [E] int32 (cumsum).
    """
    flat = topk_ids.reshape(-1)
    order = torch.argsort(flat, stable=True)
    counts = torch.zeros(num_experts, dtype=torch.int32, device=flat.device)
    counts.index_add_(0, flat.long(), torch.ones_like(flat, dtype=torch.int32))
    offsets = torch.cumsum(counts, 0, dtype=torch.int32)
    return order, counts, offsets


def combine_slots(y_sorted: torch.Tensor, order: torch.Tensor, n_tokens: int, top_k: int,
                  dtype: torch.dtype) -> torch.Tensor:
    """Undo the sort (y_sorted rows are already scaled by their routing weight) and sum each token's k rows."""
    y = torch.empty_like(y_sorted)
    y.index_copy_(0, order, y_sorted)
    return y.view(n_tokens, top_k, -1).float().sum(1).to(dtype)


class GroupedMMEngine(MoEEngine):
    """Tokens sorted by expert; torch._grouped_mm over fused gate/up then down; each hit expert read once."""

    name = "grouped"
    graph_safe = True

    def __init__(self, weights, top_k):
        super().__init__(weights, top_k)
        if not hasattr(torch, "_grouped_mm"):
            raise RuntimeError(f"engine 'grouped' needs torch._grouped_mm (torch >= 2.8), torch is {torch.__version__}")
        # [E, H, 2I] and [E, I, H] column-major views: the layout the grouped kernel reads without copies.
        self._w13_t = weights.w_gate_up.transpose(1, 2)
        self._w2_t = weights.w_down.transpose(1, 2)

    def forward(self, x, topk_ids, topk_weights):
        n, k = topk_ids.shape
        i = self.weights.inter
        order, _, offsets = sort_by_expert(topk_ids, self.weights.num_experts)
        xs = x.index_select(0, order // k)
        h = torch._grouped_mm(xs, self._w13_t, offs=offsets)
        a = F.silu(h[:, :i]) * h[:, i:]
        y = torch._grouped_mm(a, self._w2_t, offs=offsets)
        y = y * topk_weights.reshape(-1)[order].unsqueeze(1).to(y.dtype)
        return combine_slots(y, order, n, k, x.dtype)


def make_engine(name: str, weights: MoEWeights, top_k: int, **options) -> MoEEngine:
    """Build an engine by name.

    Args:
        name: one of ENGINE_NAMES (config key `engine` / CLI --engines).
        weights: shared expert weights.
        top_k: experts per token.
        **options: engine-specific options (e.g. use_ragged_ops for deepspeed_v2).
    Returns:
        The engine; raises ValueError for an unknown name and RuntimeError when its backend is missing.
    """
    if name == "loop":
        return LoopEngine(weights, top_k)
    if name == "grouped":
        return GroupedMMEngine(weights, top_k)
    if name == "grouped_triton":
        from tasks.gpu.triton_moe import TritonGroupedEngine
        return TritonGroupedEngine(weights, top_k, **options)
    if name == "deepspeed":
        from tasks.gpu.deepspeed_engines import DeepSpeedMoEEngine
        return DeepSpeedMoEEngine(weights, top_k)
    if name == "deepspeed_v2":
        from tasks.gpu.deepspeed_engines import DeepSpeedV2Engine
        return DeepSpeedV2Engine(weights, top_k, **options)
    raise ValueError(f"unknown engine {name!r} (config key `engine` / --engines); accepted: {', '.join(ENGINE_NAMES)}")
