"""Diffusion decoding step model: bytes and FLOPs of one forward over N parallel tokens, and its roofline.

One step = one forward of the N tokens of the current block over a cached prefix of P tokens.
Bytes moved per step (each weight read once per step, i.e. perfect reuse across the N tokens):
- routed_expert: sum over MoE layers of unique experts * bytes_per_expert (only activated experts are read)
- shared_expert, router: every MoE layer
- attention: q/k/v/o (+ cross-attention) and norm weights of every layer
- dense_ffn: FFN weights of the dense layers
- lm_head: the full vocab x hidden output matrix, read every step because every position of the block
  gets logits (the embedding table when tied); embedding: the N gathered input rows
- kv_cache: P * layers * 2 * kv_heads * head_dim * bytes (0 without a KV cache)
- activations (first order, each intermediate written once and read once): per layer and token
  4*hidden (block in/out) + 2*(q+k+v width) + 2*q width + (3 if gated else 2)*active FFN width, plus
  N*vocab logits. Cross-attention K/V of encoder-decoder models is ignored.
FLOPs: 2 * tokens * matmul params touched per token (attention, FFN, top-k + shared experts, router,
lm_head) + 4 * tokens * context * heads * head_dim for attention scores and values (context = P + N).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


from tasks.moe.hardware import HardwareSpec
from tasks.moe.specs import DEFAULT_CONF_DIR, ModelSpec
from tasks.moe.yaml_files import read_yaml


@dataclass(frozen=True)
class DecodingSetup:
    """A published decoding configuration (conf/decoding/<name>.yaml)."""

    name: str
    block_len: int
    threshold: float | None
    tokens_per_forward: float | None
    kv_cache: bool
    source: str


def load_decoding_setup(name: str, conf_dir: Path | None = None) -> DecodingSetup:
    """Load conf/decoding/<name>.yaml."""
    d_dir = Path(conf_dir or DEFAULT_CONF_DIR) / "decoding"
    path = d_dir / f"{name}.yaml"
    if not path.is_file():
        avail = ", ".join(sorted(p.stem for p in d_dir.glob("*.yaml")))
        raise ValueError(f"unknown decoding setup {name!r} (config key `sweep.decoding`); available: {avail}")
    d = read_yaml(path) or {}
    try:
        return DecodingSetup(**d)
    except TypeError as exc:
        raise ValueError(f"decoding setup {path}: {exc}") from None


@dataclass(frozen=True)
class StepSetup:
    """One step: block_len parallel tokens over prefix_len cached tokens, committing some of them."""

    block_len: int
    prefix_len: int
    tokens_committed_per_step: float
    kv_cache: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.block_len, int) or self.block_len <= 0:
            raise ValueError(f"block_len N (sweep.tokens) must be a positive integer, got {self.block_len!r}")
        if self.prefix_len < 0:
            raise ValueError(f"prefix_len (sweep.prefix_len) must be >= 0, got {self.prefix_len!r}")
        if not 0 < self.tokens_committed_per_step <= self.block_len:
            raise ValueError(f"tokens_committed_per_step must be in (0, block_len={self.block_len}], "
                             f"got {self.tokens_committed_per_step!r}")


def make_step_setup(n_tokens: int, prefix_len: int, decoding: DecodingSetup,
                    tokens_per_step: float | None = None) -> StepSetup:
    """StepSetup for N parallel tokens: commits min(N, tokens_per_forward) tokens (1 token at N=1).

    The published tokens-per-forward is measured at the setup's block length; holding it fixed across N
    is an assumption of the sweep (override with tokens_per_step).
    """
    if tokens_per_step is None:
        if decoding.tokens_per_forward is None:
            raise ValueError(f"decoding setup {decoding.name!r} publishes no tokens_per_forward; "
                             "pass tokens_per_step (sweep.tokens_per_step)")
        tokens_per_step = min(float(n_tokens), float(decoding.tokens_per_forward))
    return StepSetup(block_len=n_tokens, prefix_len=prefix_len, tokens_committed_per_step=tokens_per_step,
                     kv_cache=decoding.kv_cache)


@dataclass(frozen=True)
class StepCost:
    """Bytes and FLOPs of one decoding step."""

    model: str
    n_tokens: int
    tokens_processed: int
    tokens_committed: float
    unique_experts_mean: float
    routed_expert_bytes: float
    shared_expert_bytes: float
    router_bytes: float
    attention_bytes: float
    dense_ffn_bytes: float
    lm_head_bytes: float
    embedding_bytes: float
    kv_cache_bytes: float
    activation_bytes: float
    linear_flops: float
    attention_flops: float

    @property
    def weight_bytes(self) -> float:
        return (self.routed_expert_bytes + self.shared_expert_bytes + self.router_bytes + self.attention_bytes
                + self.dense_ffn_bytes + self.lm_head_bytes + self.embedding_bytes)

    @property
    def total_bytes(self) -> float:
        return self.weight_bytes + self.kv_cache_bytes + self.activation_bytes

    @property
    def total_flops(self) -> float:
        return self.linear_flops + self.attention_flops

    def bytes_breakdown(self) -> dict[str, float]:
        keys = ("routed_expert", "shared_expert", "router", "attention", "dense_ffn", "lm_head", "embedding",
                "kv_cache", "activation")
        return {k: getattr(self, f"{k}_bytes") for k in keys} | {"total": self.total_bytes}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"weight_bytes": self.weight_bytes, "total_bytes": self.total_bytes,
                               "total_flops": self.total_flops}


def _unique_per_layer(spec: ModelSpec, unique_experts_per_layer) -> list[float]:
    n_moe = len(spec.moe_layer_indices)
    if spec.family == "dense":
        return []
    if isinstance(unique_experts_per_layer, (int, float)):
        per_layer = [float(unique_experts_per_layer)] * n_moe
    else:
        per_layer = [float(u) for u in unique_experts_per_layer]
    if len(per_layer) != n_moe:
        raise ValueError(f"{spec.name}: got {len(per_layer)} unique-expert counts for {n_moe} MoE layers")
    if any(not 0 <= u <= spec.num_experts for u in per_layer):
        raise ValueError(f"{spec.name}: unique experts per layer must lie in [0, {spec.num_experts}]")
    return per_layer


def step_cost(spec: ModelSpec, setup: StepSetup, unique_experts_per_layer: list[float] | float) -> StepCost:
    """Bytes and FLOPs of one step.

    Args:
        spec: model.
        setup: N, prefix, tokens committed, KV cache.
        unique_experts_per_layer: distinct routed experts per MoE layer (one float for all, or a list);
            ignored for dense models. Without a KV cache it must describe all prefix_len + N tokens.
    Returns:
        StepCost.
    """
    per_layer = _unique_per_layer(spec, unique_experts_per_layer)
    bpp = spec.bytes_per_param
    n_moe, n_dense = len(spec.moe_layer_indices), len(spec.dense_layer_indices)
    t = setup.block_len if setup.kv_cache else setup.block_len + setup.prefix_len
    ctx = setup.prefix_len + setup.block_len
    attn_layers = spec.num_layers + spec.cross_attention_layers
    q_w, kv_w = spec.num_heads * spec.head_dim, spec.num_kv_heads * spec.head_dim
    gate_mult = 3 if spec.gated_ffn else 2
    moe_active_inter = spec.top_k * spec.expert_inter + spec.shared_expert_inter
    act_per_token = (spec.num_layers * (4 * spec.hidden + 2 * (q_w + 2 * kv_w) + 2 * q_w)
                     + gate_mult * (n_moe * moe_active_inter + n_dense * spec.dense_ffn_inter))
    per_token_matmul = (attn_layers * spec.attention_params_per_layer()
                        + n_dense * spec.dense_ffn_params()
                        + n_moe * (spec.top_k * spec.expert_params() + spec.shared_expert_params()
                                   + spec.router_params())
                        + spec.lm_head_params())
    return StepCost(
        model=spec.name, n_tokens=setup.block_len, tokens_processed=t,
        tokens_committed=setup.tokens_committed_per_step,
        unique_experts_mean=sum(per_layer) / len(per_layer) if per_layer else 0.0,
        routed_expert_bytes=sum(per_layer) * spec.bytes_per_expert(),
        shared_expert_bytes=n_moe * spec.shared_expert_params() * bpp,
        router_bytes=n_moe * spec.router_params() * bpp,
        attention_bytes=(attn_layers * spec.attention_params_per_layer()
                         + spec.num_layers * spec.norm_params_per_layer() + spec.hidden) * bpp,
        dense_ffn_bytes=n_dense * spec.dense_ffn_params() * bpp,
        lm_head_bytes=spec.lm_head_params() * bpp,
        embedding_bytes=t * spec.hidden * bpp,
        kv_cache_bytes=(setup.prefix_len * spec.num_layers * 2 * kv_w * bpp) if setup.kv_cache else 0.0,
        activation_bytes=t * (act_per_token + spec.vocab) * bpp,
        linear_flops=2.0 * t * per_token_matmul,
        attention_flops=4.0 * t * ctx * spec.num_heads * spec.head_dim * spec.num_layers,
    )


@dataclass(frozen=True)
class Roofline:
    """Roofline projection of one step on one device: time = max(bytes/bandwidth, flops/peak)."""

    hardware: str
    time_ms: float
    memory_ms: float
    compute_ms: float
    bound: str  # 'memory' | 'compute'
    tokens_per_s: float  # committed tokens / step time
    bandwidth_utilisation_projected: float  # (bytes / time_ms) / bandwidth; 1.0 when memory-bound
    arithmetic_intensity: float  # flops / byte
    ridge_point: float  # hardware flops / bandwidth

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def roofline(cost: StepCost, hw: HardwareSpec) -> Roofline:
    """Project the step time of ``cost`` on ``hw`` (datasheet or measured ceilings)."""
    memory_s = cost.total_bytes / hw.hbm_bandwidth_bytes_s
    compute_s = cost.total_flops / hw.bf16_flops
    time_s = max(memory_s, compute_s)
    return Roofline(
        hardware=hw.name, time_ms=time_s * 1e3, memory_ms=memory_s * 1e3, compute_ms=compute_s * 1e3,
        bound="memory" if memory_s >= compute_s else "compute",
        tokens_per_s=cost.tokens_committed / time_s,
        bandwidth_utilisation_projected=(cost.total_bytes / time_s) / hw.hbm_bandwidth_bytes_s,
        arithmetic_intensity=cost.total_flops / cost.total_bytes,
        ridge_point=hw.bf16_flops / hw.hbm_bandwidth_bytes_s,
    )
