"""DeepSpeed MoE engines: the training layer (deepspeed.moe.layer.MoE) and the inference-v2 (FastGen) kernels.

Both take the routing as given (from tasks.moe routers) so that every engine computes the same function:
- ``deepspeed``: the real TopKGate/MOELayer/Experts code path; only the gate's logits are replaced by
  log(routing weight) on the chosen experts and -1e9 elsewhere, so DeepSpeed's own ``topkgating`` picks the
  same experts with the same normalised weights. Experts are nn.Modules whose parameters are views of the
  shared weights (no copy). eval(), drop_tokens=False, ep_size=1, one process (gloo world size 1).
- ``deepspeed_v2``: DeepSpeed's inference-v2 CUTLASS ``MoEGEMM`` (deepspeed-kernels libdeepspeedft) for both
  expert GEMMs, plus its ``MoEScatter``/``MoEGather`` and gated activation when those ops build, else
  torch scatter/gather/activation. Weights are re-laid out once ([E, in, out], gate/up interleaved) as
  FastGen's ``transform_moe_mlp_*_param`` does. Needs CUDA, nvcc and the deepspeed-kernels wheel.
"""
from __future__ import annotations

import os
import socket
import types

import torch
import torch.nn.functional as F
from torch import nn

from tasks.gpu.engines import MoEEngine, MoEWeights, combine_slots, sort_by_expert


def ensure_single_process_group() -> None:
    """Initialise torch.distributed as a one-process gloo group (avoids deepspeed.init_distributed's op build)."""
    import torch.distributed as dist
    if dist.is_initialized():
        return
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    if "MASTER_PORT" not in os.environ:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            os.environ["MASTER_PORT"] = str(s.getsockname()[1])
    os.environ.setdefault("RANK", "0")
    os.environ.setdefault("LOCAL_RANK", "0")
    os.environ.setdefault("WORLD_SIZE", "1")
    dist.init_process_group("gloo", rank=0, world_size=1)


def ensure_deepspeed_comm() -> None:
    """Point deepspeed.comm at the one-process torch group, skipping its CPU shared-memory op build (~30 s)."""
    import importlib
    ds_comm = importlib.import_module("deepspeed.comm.comm")
    ds_torch = importlib.import_module("deepspeed.comm.torch")  # `import ... as` would bind the torch package
    ensure_single_process_group()
    if ds_comm.cdb is not None and ds_comm.cdb.is_initialized():
        return
    build_shm_op = ds_torch.build_shm_op
    ds_torch.build_shm_op = lambda: None  # world size 1: no shared-memory collectives to accelerate
    try:
        ds_comm.init_distributed(dist_backend="gloo", auto_mpi_discovery=False, verbose=False)
    finally:
        ds_torch.build_shm_op = build_shm_op


def _jit_built(name: str) -> bool:
    """Whether torch's JIT extension cache already holds the built op `name`."""
    from torch.utils.cpp_extension import _get_build_directory
    return os.path.isfile(os.path.join(_get_build_directory(name, verbose=False), f"{name}.so"))


class _SharedGatedExpert(nn.Module):
    """One SwiGLU expert whose parameters are views into the shared [E, ...] weight tensors."""

    def __init__(self, w_gate_up: torch.Tensor, w_down: torch.Tensor) -> None:
        super().__init__()
        self.inter = w_down.shape[1]
        self.w_gate_up = nn.Parameter(w_gate_up, requires_grad=False)
        self.w_down = nn.Parameter(w_down, requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.linear(x, self.w_gate_up)
        return F.linear(F.silu(h[..., :self.inter]) * h[..., self.inter:], self.w_down)


class DeepSpeedMoEEngine(MoEEngine):
    """deepspeed.moe.layer.MoE (k=top_k, drop_tokens=False, ep_size=1, eval) fed the given routing."""

    name = "deepspeed"
    graph_safe = False  # capacity = max(exp_counts) is read on the host

    def __init__(self, weights: MoEWeights, top_k: int) -> None:
        super().__init__(weights, top_k)
        try:
            import deepspeed
            from deepspeed.moe import sharded_moe
            from deepspeed.moe.layer import MoE
        except ImportError as exc:
            raise RuntimeError(f"engine 'deepspeed' needs the deepspeed package ({exc}); on a GPU box install "
                               "the carried wheels (.whl/base)") from None
        ensure_deepspeed_comm()
        device = weights.w_gate_up.device
        e, two_i, h = weights.w_gate_up.shape
        template = _SharedGatedExpert(torch.empty(two_i, h, device="meta"), torch.empty(h, two_i // 2, device="meta"))
        moe = MoE(hidden_size=h, expert=template, num_experts=e, ep_size=1, k=top_k, capacity_factor=1.0,
                  eval_capacity_factor=1.0, min_capacity=0, drop_tokens=False, use_rts=False, use_residual=False)
        moe.set_deepspeed_parallelism()
        experts = moe.deepspeed_moe.experts.deepspeed_experts
        for idx, expert in enumerate(experts):
            expert.w_gate_up = nn.Parameter(weights.w_gate_up[idx], requires_grad=False)
            expert.w_down = nn.Parameter(weights.w_down[idx], requires_grad=False)
        gate = moe.deepspeed_moe.gate
        gate.wg = nn.Linear(h, e, bias=False, device=device, dtype=torch.float32).requires_grad_(False)
        self._injected_logits: torch.Tensor | None = None

        def forward_with_given_routing(gate_self, input, used_token=None, sparse_routes=False, use_tutel=False):
            # DeepSpeed's own topkgating, on logits that encode the routing under test.
            return sharded_moe.topkgating(self._injected_logits, gate_self.k, gate_self.eval_capacity_factor,
                                          gate_self.min_capacity, gate_self.drop_tokens, gate_self.ep_group,
                                          sparse_routes=sparse_routes)

        gate.forward = types.MethodType(forward_with_given_routing, gate)
        self.moe = moe.eval()
        self._ds_version = deepspeed.__version__

    def forward(self, x, topk_ids, topk_weights):
        n = x.shape[0]
        w = topk_weights.float()
        scale = w.sum(-1, keepdim=True)
        logits = torch.full((n, self.weights.num_experts), -1e9, dtype=torch.float32, device=x.device)
        logits.scatter_(1, topk_ids.long(), torch.log((w / scale).clamp_min(1e-30)))
        self._injected_logits = logits
        with torch.no_grad():
            out, _, _ = self.moe(x)
        return (out.float() * scale).to(x.dtype)

    def info(self):
        return {**super().info(), "deepspeed": self._ds_version, "layer": "deepspeed.moe.layer.MoE",
                "drop_tokens": False, "ep_size": 1, "gating": "sharded_moe.topkgating on injected logits"}


class DeepSpeedV2Engine(MoEEngine):
    """DeepSpeed inference-v2 (FastGen) MoE: CUTLASS multi-GEMM (MoEGEMM) over tokens scattered by expert."""

    name = "deepspeed_v2"
    graph_safe = True

    def __init__(self, weights: MoEWeights, top_k: int, use_ragged_ops: bool | None = None) -> None:
        super().__init__(weights, top_k)
        if not torch.cuda.is_available() or weights.w_gate_up.device.type != "cuda":
            raise RuntimeError("engine 'deepspeed_v2' needs CUDA weights (DeepSpeed inference-v2 kernels are CUDA-only)")
        try:
            import deepspeed
            from deepspeed.inference.v2.inference_utils import ActivationType, DtypeEnum
            from deepspeed.inference.v2.kernels.cutlass_ops import MoEGEMM
        except ImportError as exc:
            raise RuntimeError(f"engine 'deepspeed_v2' cannot import DeepSpeed inference-v2 ({exc})") from None
        # DeepSpeed's builder cannot parse torch's '9.0a' arch entries (ValueError: '0a', seen on the H200 with
        # torch 2.11+cu130): pin the arch list to the device's plain capability, the same for build and load.
        major, minor = torch.cuda.get_device_capability(weights.w_gate_up.device)
        os.environ.setdefault("TORCH_CUDA_ARCH_LIST", f"{major}.{minor}")
        dtype = weights.w_gate_up.dtype
        # JIT-builds cutlass_ops and links libdeepspeedft from the deepspeed-kernels wheel.
        try:
            self._mlp_1 = MoEGEMM(fp_dtype=DtypeEnum(dtype), act_fn=ActivationType.IDENTITY)
            self._mlp_2 = MoEGEMM(fp_dtype=DtypeEnum(dtype), act_fn=ActivationType.IDENTITY)
        except ImportError as exc:  # e.g. 'dskernels' (the deepspeed-kernels wheel) not installed on this machine
            raise RuntimeError(f"engine 'deepspeed_v2' unavailable: its cutlass_ops cannot be built here ({exc}); "
                               "install the deepspeed-kernels wheel") from None
        e, two_i, h = weights.w_gate_up.shape
        i = two_i // 2
        # FastGen layout: [E, in, out]; gated MLP columns interleaved (gate, up, gate, up, ...).
        interleaved = torch.stack([weights.w_gate_up[:, :i], weights.w_gate_up[:, i:]], dim=2).reshape(e, two_i, h)
        self._w1 = interleaved.permute(0, 2, 1).contiguous()
        self._w2 = weights.w_down.permute(0, 2, 1).contiguous()
        self._scatter = self._gather = self._act = None
        self.ragged_error = None
        if use_ragged_ops is None:  # auto: only when already built (their JIT build takes minutes)
            use_ragged_ops = all(_jit_built(n) for n in ("ragged_device_ops", "inference_core_ops")) or None
            if use_ragged_ops is None:
                self.ragged_error = "ragged_device_ops/inference_core_ops not prebuilt: torch scatter/gather used"
        if use_ragged_ops:
            try:
                from deepspeed.inference.v2.kernels.core_ops import CUDAGatedActivation
                from deepspeed.inference.v2.kernels.ragged_ops import MoEGather, MoEScatter
                self._scatter = MoEScatter(DtypeEnum(dtype), h)
                self._gather = MoEGather(DtypeEnum(dtype), h, normalize_scores=False)
                self._act = CUDAGatedActivation(h, DtypeEnum(dtype), ActivationType.SiGLU)
            except Exception as exc:  # noqa: BLE001 - the build failing is an outcome we record
                self._scatter = self._gather = self._act = None
                self.ragged_error = f"{type(exc).__name__}: {str(exc)[:300]}"
        self._ds_version = deepspeed.__version__
        self._probe(major, minor)

    def _probe(self, major: int, minor: int) -> None:
        """Run one tiny MoE GEMM so an unsupported architecture fails here, with the reason, not mid-sweep."""
        w = self.weights
        x = torch.zeros(1, w.hidden, dtype=w.w_gate_up.dtype, device=w.w_gate_up.device)
        rows = torch.ones(w.num_experts, dtype=torch.int64, device=x.device)
        try:
            self._mlp_1(torch.empty(1, 2 * w.inter, dtype=x.dtype, device=x.device), x, self._w1, rows)
            torch.cuda.synchronize()
        except RuntimeError as exc:
            from importlib.metadata import PackageNotFoundError, version
            try:
                dsk = version("deepspeed-kernels")
            except PackageNotFoundError:
                dsk = "?"
            raise RuntimeError(f"engine 'deepspeed_v2' unavailable on sm_{major}{minor}: ops built, but "
                               f"deepspeed-kernels {dsk} libdeepspeedft MoE GEMM refused at run time: "
                               f"{str(exc).strip()}") from None

    def forward(self, x, topk_ids, topk_weights):
        n, k = topk_ids.shape
        e, i = self.weights.num_experts, self.weights.inter
        order, counts, offsets = sort_by_expert(topk_ids, e)
        cumsum64 = offsets.to(torch.int64)
        if self._scatter is not None:
            # FastGen's own scatter: needs each (token, slot)'s rank within its expert, in token order.
            starts = (offsets - counts).long()
            sorted_e = topk_ids.reshape(-1)[order].long()
            rank = torch.arange(n * k, device=x.device) - starts[sorted_e]
            ranks = torch.empty(n * k, dtype=torch.int32, device=x.device)
            ranks.index_copy_(0, order, rank.to(torch.int32))
            moe_input = torch.empty(n * k, x.shape[1], dtype=x.dtype, device=x.device)
            mapped = torch.empty(n, k, dtype=torch.int32, device=x.device)
            cumsum64 = torch.empty(e, dtype=torch.int64, device=x.device)
            self._scatter(moe_input, cumsum64, mapped, x, counts, topk_ids.int().contiguous(), ranks.view(n, k))
        else:
            moe_input = x.index_select(0, order // k)
        h = torch.empty(n * k, 2 * i, dtype=x.dtype, device=x.device)
        self._mlp_1(h, moe_input, self._w1, cumsum64)
        if self._act is not None:
            a = torch.empty(n * k, i, dtype=x.dtype, device=x.device)
            self._act(a, h)
        else:
            a = F.silu(h[:, 0::2]) * h[:, 1::2]
        y = torch.empty(n * k, x.shape[1], dtype=x.dtype, device=x.device)
        self._mlp_2(y, a.contiguous(), self._w2, cumsum64)
        if self._gather is not None:
            out = torch.empty_like(x)
            self._gather(out, y, topk_weights.float().contiguous(), mapped, counts)
            return out
        y = y * topk_weights.reshape(-1)[order].unsqueeze(1).to(y.dtype)
        return combine_slots(y, order, n, k, x.dtype)

    def info(self):
        return {**super().info(), "deepspeed": self._ds_version, "gemm": "inference.v2 cutlass_ops.MoEGEMM",
                "scatter_gather": "ragged_ops" if self._scatter is not None else "torch",
                "ragged_ops_error": self.ragged_error}

