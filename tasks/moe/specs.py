"""Model shapes (MoE and dense) loaded from conf/model/*.yaml, with derived parameter and byte counts.

Counting conventions (used by every derived number):
- Attention: q/o are hidden x (heads*head_dim); k/v are hidden x (kv_heads*head_dim); optional qkv bias.
  ``cross_attention_layers`` adds that many extra attention blocks of the same shape (Switch decoder).
- FFN: gated (SwiGLU) = 3*hidden*inter, non-gated (ReLU, Switch/T5) = 2*hidden*inter.
- Router: hidden*num_experts per MoE layer. Shared-expert sigmoid gate (Qwen1.5): hidden per MoE layer.
- Norms: 2*hidden per layer plus one final norm. QK-norm and rel-pos buckets are ignored (<0.01%).
- Embeddings: vocab*hidden input table plus an lm_head of the same size unless tied.
- Active params per token: everything except the routed experts not chosen (embedding and lm_head counted,
  the Mixtral/OLMoE convention; some cards count only one of them, see published_active_params notes).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasks.moe.yaml_files import read_yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONF_DIR = REPO_ROOT / "conf"


@dataclass(frozen=True)
class ModelSpec:
    """Architecture of one model, enough to count parameters and bytes moved per decoding step."""

    name: str
    display_name: str
    family: str  # 'moe' | 'dense'
    num_layers: int
    hidden: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    vocab: int
    dense_ffn_inter: int = 0  # FFN width of the dense (non-MoE) layers; 0 if there are none
    first_dense_layers: int = 0  # layers [0, first_dense_layers) are dense
    moe_layer_freq: int = 1  # after the dense prefix, every freq-th layer is MoE (HF: i % freq == freq-1)
    moe_layers: tuple[int, ...] | None = None  # explicit MoE layer indices; overrides the two rules above
    num_experts: int = 0
    top_k: int = 0
    expert_inter: int = 0
    num_shared_experts: int = 0
    shared_expert_inter: int = 0  # total width of all shared experts together
    shared_expert_gate: bool = False  # Qwen1.5-MoE sigmoid gate on the shared expert
    tie_embeddings: bool = False
    gated_ffn: bool = True  # SwiGLU=True, ReLU two-matrix FFN (Switch/T5)=False
    qkv_bias: bool = False
    cross_attention_layers: int = 0
    bytes_per_param: int = 2
    published_total_params: float = 0.0
    published_active_params: float = 0.0
    decoding: str = "llada2_block32_t095"  # default decoding setup name in conf/decoding/
    notes: str = ""
    sources: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        _validate(self)

    # ---- layer placement -------------------------------------------------
    @property
    def moe_layer_indices(self) -> list[int]:
        """Indices of the MoE layers (empty for a dense model)."""
        if self.family == "dense":
            return []
        if self.moe_layers is not None:
            return sorted(self.moe_layers)
        f = self.moe_layer_freq
        return [i for i in range(self.first_dense_layers, self.num_layers)
                if (i - self.first_dense_layers) % f == f - 1]

    @property
    def dense_layer_indices(self) -> list[int]:
        """Indices of the layers with a dense FFN."""
        moe = set(self.moe_layer_indices)
        return [i for i in range(self.num_layers) if i not in moe]

    # ---- parameter counts ------------------------------------------------
    def _ffn_params(self, inter: int) -> int:
        return (3 if self.gated_ffn else 2) * self.hidden * inter

    def attention_params_per_layer(self) -> int:
        """q, k, v, o projections (plus qkv bias) of one self-attention block."""
        q = self.num_heads * self.head_dim
        kv = self.num_kv_heads * self.head_dim
        params = self.hidden * q * 2 + self.hidden * kv * 2
        if self.qkv_bias:
            params += q + 2 * kv
        return params

    def expert_params(self) -> int:
        """Parameters of one routed expert."""
        return self._ffn_params(self.expert_inter)

    def bytes_per_expert(self) -> int:
        """Weight bytes of one routed expert."""
        return self.expert_params() * self.bytes_per_param

    def shared_expert_params(self) -> int:
        """Parameters of all shared experts of one MoE layer together (plus their gate)."""
        if self.num_shared_experts == 0:
            return 0
        return self._ffn_params(self.shared_expert_inter) + (self.hidden if self.shared_expert_gate else 0)

    def router_params(self) -> int:
        """Router (gate) matrix of one MoE layer."""
        return self.hidden * self.num_experts if self.num_experts else 0

    def dense_ffn_params(self) -> int:
        """FFN parameters of one dense layer."""
        return self._ffn_params(self.dense_ffn_inter)

    def norm_params_per_layer(self) -> int:
        """Two RMS/Layer norms per layer."""
        return 2 * self.hidden

    def embedding_params(self) -> int:
        """Input embedding plus lm_head (counted once when tied)."""
        table = self.vocab * self.hidden
        return table if self.tie_embeddings else 2 * table

    def lm_head_params(self) -> int:
        """The output projection read in full every forward (the embedding table when tied)."""
        return self.vocab * self.hidden

    def _non_ffn_layer_params(self) -> int:
        return self.attention_params_per_layer() + self.norm_params_per_layer()

    def total_params(self) -> int:
        """All parameters of the model."""
        n_moe = len(self.moe_layer_indices)
        n_dense = len(self.dense_layer_indices)
        total = self.num_layers * self._non_ffn_layer_params()
        total += self.cross_attention_layers * self.attention_params_per_layer()
        total += n_dense * self.dense_ffn_params()
        total += n_moe * (self.num_experts * self.expert_params() + self.shared_expert_params()
                          + self.router_params())
        return total + self.embedding_params() + self.hidden

    def active_params_per_token(self) -> int:
        """Parameters touched by one token: total minus the routed experts it does not pick."""
        n_moe = len(self.moe_layer_indices)
        unused = n_moe * (self.num_experts - self.top_k) * self.expert_params()
        return self.total_params() - unused

    # ---- bytes -----------------------------------------------------------
    def bytes_per_layer(self, layer_idx: int) -> int:
        """Weight bytes of one whole layer (all routed experts included)."""
        if not 0 <= layer_idx < self.num_layers:
            raise ValueError(f"layer_idx {layer_idx} out of range [0, {self.num_layers}) for {self.name}")
        params = self._non_ffn_layer_params()
        if layer_idx in set(self.moe_layer_indices):
            params += self.num_experts * self.expert_params() + self.shared_expert_params() + self.router_params()
        else:
            params += self.dense_ffn_params()
        return params * self.bytes_per_param

    def active_bytes_per_token(self) -> int:
        """Weight bytes a single token (N=1) touches."""
        return self.active_params_per_token() * self.bytes_per_param

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        if d["moe_layers"] is not None:
            d["moe_layers"] = list(d["moe_layers"])
        return d


def _validate(s: ModelSpec) -> None:
    def bad(field_name: str, why: str) -> ValueError:
        return ValueError(f"model '{s.name}': field '{field_name}' {why}")

    if s.family not in ("moe", "dense"):
        raise bad("family", f"must be 'moe' or 'dense', got {s.family!r}")
    for f in ("num_layers", "hidden", "num_heads", "num_kv_heads", "head_dim", "vocab", "bytes_per_param"):
        v = getattr(s, f)
        if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
            raise bad(f, f"must be a positive integer, got {v!r}")
    if s.num_heads % s.num_kv_heads:
        raise bad("num_kv_heads", f"must divide num_heads={s.num_heads}, got {s.num_kv_heads}")
    if s.family == "dense":
        if s.dense_ffn_inter <= 0:
            raise bad("dense_ffn_inter", "must be > 0 for a dense model")
        if s.num_experts or s.top_k:
            raise bad("num_experts", "must be 0 (and top_k 0) for a dense model")
        return
    if s.num_experts <= 0:
        raise bad("num_experts", f"must be > 0 for an MoE model, got {s.num_experts}")
    if not 1 <= s.top_k <= s.num_experts:
        raise bad("top_k", f"must be in [1, num_experts={s.num_experts}], got {s.top_k}")
    if s.expert_inter <= 0:
        raise bad("expert_inter", f"must be > 0, got {s.expert_inter}")
    if (s.num_shared_experts > 0) != (s.shared_expert_inter > 0):
        raise bad("shared_expert_inter", "must be > 0 exactly when num_shared_experts > 0")
    if s.moe_layer_freq < 1:
        raise bad("moe_layer_freq", f"must be >= 1, got {s.moe_layer_freq}")
    if s.moe_layers is not None and any(not 0 <= i < s.num_layers for i in s.moe_layers):
        raise bad("moe_layers", f"indices must lie in [0, {s.num_layers})")
    if not s.moe_layer_indices:
        raise bad("first_dense_layers", "leaves no MoE layer")
    if s.dense_layer_indices and s.dense_ffn_inter <= 0:
        raise bad("dense_ffn_inter", f"must be > 0: layers {s.dense_layer_indices} are dense")


_FIELDS = {f.name: f for f in dataclasses.fields(ModelSpec)}


def spec_from_dict(d: dict[str, Any]) -> ModelSpec:
    """Build a ModelSpec from a plain dict (as read from YAML); unknown or badly typed fields raise ValueError."""
    if not isinstance(d, dict):
        raise ValueError(f"model spec must be a mapping, got {type(d).__name__}")
    name = d.get("name", "<unnamed>")
    unknown = sorted(set(d) - set(_FIELDS))
    if unknown:
        raise ValueError(f"model '{name}': unknown field(s) {unknown}; allowed: {sorted(_FIELDS)}")
    kwargs = dict(d)
    if kwargs.get("moe_layers") is not None:
        kwargs["moe_layers"] = tuple(int(i) for i in kwargs["moe_layers"])
    for key in ("published_total_params", "published_active_params"):
        if key in kwargs:
            try:
                kwargs[key] = float(kwargs[key])
            except (TypeError, ValueError):
                raise ValueError(f"model '{name}': field '{key}' must be a number, got {kwargs[key]!r}") from None
    kwargs["sources"] = {str(k): str(v) for k, v in (kwargs.get("sources") or {}).items()}
    try:
        return ModelSpec(**kwargs)
    except TypeError as exc:  # missing required field
        raise ValueError(f"model '{name}': {exc}") from None


def _model_dir(conf_dir: Path | None) -> Path:
    return Path(conf_dir or DEFAULT_CONF_DIR) / "model"


def list_models(conf_dir: Path | None = None) -> list[str]:
    """Names of the model specs available in conf/model/."""
    return sorted(p.stem for p in _model_dir(conf_dir).glob("*.yaml"))


def load_model_spec(name: str, conf_dir: Path | None = None) -> ModelSpec:
    """Load conf/model/<name>.yaml.

    Args:
        name: model key, e.g. 'llada2_mini'.
        conf_dir: the conf/ directory; default is the repository's conf/.
    Returns:
        The validated ModelSpec.
    """
    path = _model_dir(conf_dir) / f"{name}.yaml"
    if not path.is_file():
        raise ValueError(f"unknown model {name!r} (config key `model` / `sweep.models`); "
                         f"available: {', '.join(list_models(conf_dir))}")
    d = read_yaml(path) or {}
    if not isinstance(d, dict):
        raise ValueError(f"{path}: a model spec is a YAML mapping of fields, got {type(d).__name__}")
    d.pop("defaults", None)
    d.setdefault("name", name)
    return spec_from_dict(d)
