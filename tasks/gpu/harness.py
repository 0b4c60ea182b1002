"""Transformer blocks at a model spec's real dimensions, run as one diffusion step of N parallel tokens.

A step: embed N token ids -> for each layer: RMSNorm, fused QKV, RoPE, write the block's K/V behind a
prefix KV cache of P tokens, SDPA (GQA) of the N queries over the P+N keys, output projection, residual;
RMSNorm, then the dense SwiGLU FFN or the MoE FFN (router GEMM, routing from tasks.moe, an engine from
tasks/gpu/engines.py, shared experts) -> final norm -> lm_head logits for all N positions.
Weights are random bf16 (timing does not depend on their values; never zeros). A stack holds either all
layers ('full') or one layer of each kind plus the embedding/head, timed separately and scaled by the layer
counts ('per_layer_x_L') when the model does not fit.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from tasks.gpu.engines import MoEWeights, make_engine
from tasks.gpu.fused_ops import norm_router, rope_qkv_write
from tasks.gpu.fused_ops import triton as _triton

_HAS_TRITON = _triton is not None


def _randn(shape, scale, gen, device, dtype):
    t = torch.randn(*shape, generator=gen, device=device, dtype=dtype)
    return t.mul_(scale)


@dataclass
class LayerWeights:
    """Weights of one transformer block; ffn is either dense (w13, w2) or MoE (router, experts, shared)."""

    attn_norm: torch.Tensor
    wqkv: torch.Tensor  # [(heads + 2 kv_heads) * head_dim, H]
    wo: torch.Tensor  # [H, heads * head_dim]
    ffn_norm: torch.Tensor
    kind: str  # 'dense' | 'moe'
    w13: torch.Tensor | None = None  # dense or shared expert [2I, H]
    w2: torch.Tensor | None = None  # [H, I]
    router: torch.Tensor | None = None  # [E, H]
    experts: MoEWeights | None = None
    shared: MoEWeights | None = None  # the shared expert as one more expert right after the routed ones


def stack_weight_bytes(spec, layer_kinds: list[str], with_head: bool) -> int:
    """Weight bytes a stack of these layer kinds allocates (for the fits-in-memory decision)."""
    bpp = spec.bytes_per_param
    total = 0
    for kind in layer_kinds:
        total += spec.attention_params_per_layer() + spec.norm_params_per_layer()
        if kind == "moe":
            total += spec.num_experts * spec.expert_params() + spec.shared_expert_params() + spec.router_params()
        else:
            total += spec.dense_ffn_params()
    if with_head:
        total += 2 * spec.vocab * spec.hidden + spec.hidden
    return total * bpp


def kv_cache_bytes(spec, n_layers: int, prefix_len: int, max_tokens: int) -> int:
    """Bytes of the K/V buffers (prefix plus the block) for n_layers layers."""
    return n_layers * 2 * spec.num_kv_heads * spec.head_dim * (prefix_len + max_tokens) * spec.bytes_per_param


class DiffusionStack:
    """Layers of one model at real dimensions, with a prefix KV cache, runnable as one N-token step.

    Args:
        spec: tasks.moe.specs.ModelSpec.
        layer_kinds: 'dense'/'moe' per built layer, in order (all layers for a full stack).
        with_head: build the embedding, final norm and lm_head.
        prefix_len: cached prefix tokens P.
        device, dtype, seed: placement and init.
        memory_budget_bytes: raise torch.OutOfMemoryError before allocating when the estimate exceeds it
            (weights at build time, KV cache and activations in prepare(N)).
    """

    def __init__(self, spec, layer_kinds: list[str], with_head: bool, prefix_len: int, device="cuda", dtype=torch.bfloat16, seed: int = 0, memory_budget_bytes: int | None = None):
        if not spec.gated_ffn:
            raise ValueError(f"model {spec.name!r}: the GPU harness implements gated (SwiGLU) FFNs only")
        need = stack_weight_bytes(spec, layer_kinds, with_head)
        if memory_budget_bytes is not None and need > memory_budget_bytes:
            raise torch.OutOfMemoryError(f"{spec.name}: stack needs ~{need / 1e9:.1f} GB, budget "
                                         f"{memory_budget_bytes / 1e9:.1f} GB")
        self.spec, self.device, self.dtype = spec, device, dtype
        self.prefix_len = prefix_len
        self.layer_kinds = list(layer_kinds)
        h, d = spec.hidden, spec.head_dim
        qw, kvw = spec.num_heads * d, spec.num_kv_heads * d
        gen = torch.Generator(device=device).manual_seed(seed)
        r = lambda shape, fan_in: _randn(shape, fan_in ** -0.5, gen, device, dtype)  # noqa: E731
        ones = lambda: torch.ones(h, device=device, dtype=dtype)  # noqa: E731
        self.layers: list[LayerWeights] = []
        for kind in layer_kinds:
            lw = LayerWeights(ones(), r((qw + 2 * kvw, h), h), r((h, qw), qw), ones(), kind)
            if kind == "moe":
                lw.router = r((spec.num_experts, h), h)
                e, ie = spec.num_experts, spec.expert_inter
                fold = bool(spec.num_shared_experts) and spec.shared_expert_inter == ie
                gu, dn = r((e + fold, 2 * ie, h), h), r((e + fold, h, ie), ie)  # shared expert last, adjacent
                lw.experts = MoEWeights(gu[:e], dn[:e])
                if fold:
                    lw.shared = MoEWeights(gu[e:], dn[e:])
                    lw.w13, lw.w2 = gu[e], dn[e]
                elif spec.num_shared_experts:
                    lw.w13 = r((2 * spec.shared_expert_inter, h), h)
                    lw.w2 = r((h, spec.shared_expert_inter), spec.shared_expert_inter)
            else:
                lw.w13 = r((2 * spec.dense_ffn_inter, h), h)
                lw.w2 = r((h, spec.dense_ffn_inter), spec.dense_ffn_inter)
            self.layers.append(lw)
        self.with_head = with_head
        if with_head:
            self.embedding = r((spec.vocab, h), 1.0)
            self.lm_head = r((spec.vocab, h), h)
            self.final_norm = ones()
        self._gen = gen
        self.memory_budget_bytes = memory_budget_bytes
        self._weight_bytes = stack_weight_bytes(spec, layer_kinds, with_head)
        self.k_cache: list[torch.Tensor] = []
        self.v_cache: list[torch.Tensor] = []
        self.n_prepared = 0
        self.engines: list = []
        self.engine_name = None
        # fused: Triton RoPE + KV write, residual adds in the GEMM epilogues, and for engines with forward_step
        # (grouped_triton) router softmax, shared expert and residual inside the MoE launches. False keeps the
        # plain torch path (the 'before' of benchmarks/step_bench.py; CPU runs).
        self.fused_default = str(device).startswith("cuda") and _HAS_TRITON
        self.fused = self.fused_default
        # Measured on the H200 (results/h200/2026-11-30_77292a6_step_bench.txt): flash attention beat torch's own
        # choice (cuDNN) at 8 <= N <= 128 by 1-4% of the step and lost 2% at N=1, so 'auto' = flash from N=8 on.
        self.sdpa_backend: str | None = "auto"  # 'auto' | None (torch's) | 'flash' | 'cudnn' | 'efficient' | 'math'
        # The fused norm_router launch was slower than RMSNorm + cuBLAS router at every N in that run: off by default.
        # Residuals in the GEMM epilogue (addmm): off by default; Llama-2-70B decode lost 4.5% with it on.
        self.residual_epilogue = False
        self.fused_fallbacks: dict[str, str] = {}  # fused op -> why it fell back to torch (see _fallible)
        self.fused_router = False  # the FFN RMSNorm + router GEMM as one Triton launch (fused_ops.norm_router)

    def activation_bytes_estimate(self, n_tokens: int) -> int:
        """Rough upper bound of the live activations of one N-token step (float32 logits included)."""
        s = self.spec
        widest = max(s.dense_ffn_inter, s.top_k * s.expert_inter + s.shared_expert_inter,
                     (s.num_heads + 2 * s.num_kv_heads) * s.head_dim)
        return n_tokens * (4 * (s.vocab if self.with_head else 0) + 8 * widest + 16 * s.hidden)

    def prepare(self, n_tokens: int) -> None:
        """Allocate the prefix KV cache (random prefix) and RoPE tables for N-token steps.

        Raises torch.OutOfMemoryError when the estimate exceeds memory_budget_bytes (or the device's memory).
        """
        s, p = self.spec, self.prefix_len
        need = (self._weight_bytes + kv_cache_bytes(s, len(self.layers), p, n_tokens)
                + self.activation_bytes_estimate(n_tokens))
        if self.memory_budget_bytes is not None and need > self.memory_budget_bytes:
            raise torch.OutOfMemoryError(f"{s.name} N={n_tokens}: step needs ~{need / 1e9:.2f} GB, budget "
                                         f"{self.memory_budget_bytes / 1e9:.2f} GB")
        self.k_cache, self.v_cache = [], []  # free the previous N's buffers first
        ctx, d = p + n_tokens, s.head_dim
        shape = (1, s.num_kv_heads, ctx, d)
        self.k_cache = [_randn(shape, 1.0, self._gen, self.device, self.dtype) for _ in self.layers]
        self.v_cache = [_randn(shape, 1.0, self._gen, self.device, self.dtype) for _ in self.layers]
        pos = torch.arange(p, ctx, device=self.device, dtype=torch.float32)
        inv = 1.0 / (10000.0 ** (torch.arange(0, d, 2, device=self.device, dtype=torch.float32) / d))
        ang = torch.outer(pos, inv)
        self._cos = torch.cat([ang.cos(), ang.cos()], -1).to(self.dtype)
        self._sin = torch.cat([ang.sin(), ang.sin()], -1).to(self.dtype)
        self.n_prepared = n_tokens

    @property
    def n_moe(self) -> int:
        return sum(k == "moe" for k in self.layer_kinds)

    def set_engine(self, name: str, **options) -> None:
        """Build the MoE engine of every MoE layer (shared weights, no copies except deepspeed_v2's layout)."""
        self.engines = [None] * len(self.layers)
        torch.cuda.empty_cache() if torch.cuda.is_available() else None
        for i, lw in enumerate(self.layers):
            if lw.kind == "moe":
                extra = {"shared_experts": lw.shared} if name == "grouped_triton" and lw.shared is not None else {}
                self.engines[i] = make_engine(name, lw.experts, self.spec.top_k, **extra, **options)
        self.engine_name = name

    def engine_info(self) -> dict:
        first = next((e for e in self.engines if e is not None), None)
        info = first.info() if first is not None else {"engine": "dense"}
        return {**info, "fused_step": self.fused, "fused_fallbacks": dict(self.fused_fallbacks)}

    def _rope(self, t: torch.Tensor, n: int) -> torch.Tensor:
        cos, sin = self._cos[:n, None, :], self._sin[:n, None, :]
        half = t.shape[-1] // 2
        rot = torch.cat([-t[..., half:], t[..., :half]], -1)
        return torch.addcmul(t * cos, rot, sin)

    def _attention(self, i: int, x: torch.Tensor, xn: torch.Tensor | None = None) -> torch.Tensor:
        spec, lw, n = self.spec, self.layers[i], x.shape[0]
        nh, nkv, d, p = spec.num_heads, spec.num_kv_heads, spec.head_dim, self.prefix_len
        xn = F.rms_norm(x, (x.shape[-1],), lw.attn_norm) if xn is None else xn  # xn: normed by the last combine
        qkv = xn @ lw.wqkv.T
        q = None
        if self.fused:
            q = self._fallible("rope_qkv_write", lambda: rope_qkv_write(qkv, self._cos, self._sin, self.k_cache[i],
                                                                       self.v_cache[i], p, nh, nkv))
        if q is not None:
            kc, vc = self.k_cache[i][:, :, :p + n], self.v_cache[i][:, :, :p + n]
            with sdpa_backend(self.sdpa_backend, n, q.is_cuda):
                o = F.scaled_dot_product_attention(q.unsqueeze(0).transpose(1, 2), kc, vc, enable_gqa=nh != nkv)
            o = o[0].transpose(0, 1).reshape(n, nh * d)
            return torch.addmm(x, o, lw.wo.T) if self.residual_epilogue else x + o @ lw.wo.T
        qk = self._rope(qkv[:, :(nh + nkv) * d].view(n, nh + nkv, d), n)  # one RoPE pass over q and k
        q, k, v = qk[:, :nh], qk[:, nh:], qkv[:, (nh + nkv) * d:]
        self.k_cache[i][0, :, p:p + n].copy_(k.transpose(0, 1))
        self.v_cache[i][0, :, p:p + n].copy_(v.view(n, nkv, d).transpose(0, 1))
        kc, vc = self.k_cache[i][:, :, :p + n], self.v_cache[i][:, :, :p + n]
        o = F.scaled_dot_product_attention(q.transpose(0, 1).unsqueeze(0), kc, vc, enable_gqa=nh != nkv)
        return x + o[0].transpose(0, 1).reshape(n, nh * d) @ lw.wo.T

    def _fallible(self, what: str, fn):
        """Run a fused Triton op; if it fails (e.g. does not build on this GPU/Triton), record why in
        fused_fallbacks and use the plain torch path from then on (the first call is an eager warm-up, never
        inside a graph capture)."""
        if what in self.fused_fallbacks:
            return None
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - any build/launch failure: the torch path computes the same
            if torch.cuda.is_available() and torch.cuda.is_current_stream_capturing():
                raise
            self.fused_fallbacks[what] = f"{type(exc).__name__}: {str(exc)[:200]}"
            return None

    @staticmethod
    def _swiglu(x, w13, w2, residual=None):
        h = x @ w13.T
        half = h.shape[-1] // 2
        a = F.silu(h[:, :half]) * h[:, half:]
        return a @ w2.T if residual is None else torch.addmm(residual, a, w2.T)

    def _ffn(self, i: int, x: torch.Tensor, topk_ids: torch.Tensor | None, next_norm=None):
        """x + FFN(norm(x)); with next_norm (fused, grouped_triton) also returns the next norm of the result."""
        lw = self.layers[i]
        xn = logits = None
        if self.fused and self.fused_router and lw.kind == "moe" and hasattr(self.engines[i], "forward_step"):
            xn, logits = self._fallible("norm_router", lambda: norm_router(x, lw.ffn_norm, lw.router)) or (None, None)
        if xn is None:
            xn = F.rms_norm(x, (x.shape[-1],), lw.ffn_norm)
        if lw.kind == "dense":
            epilogue = self.fused and self.residual_epilogue
            return self._swiglu(xn, lw.w13, lw.w2, x) if epilogue else x + self._swiglu(xn, lw.w13, lw.w2)
        if self.fused and hasattr(self.engines[i], "forward_step"):
            separate_shared = lw.w13 is not None and not getattr(self.engines[i], "num_shared", 0)
            norm = None if separate_shared else next_norm
            logits = xn @ lw.router.T if logits is None else logits
            y = self.engines[i].forward_step(xn, topk_ids, logits, residual=x, norm_weight=norm)
            if separate_shared:
                y = (self._swiglu(xn, lw.w13, lw.w2, y) if self.residual_epilogue
                     else y + self._swiglu(xn, lw.w13, lw.w2))
            return y
        logits = (xn @ lw.router.T).float()
        topk_w = torch.softmax(logits.gather(1, topk_ids.long()), dim=-1)
        y = self.engines[i](xn, topk_ids, topk_w)
        if lw.w13 is not None:
            y = y + self._swiglu(xn, lw.w13, lw.w2)
        return x + y

    def forward(self, token_ids: torch.Tensor | None, routing: torch.Tensor | None,
                x: torch.Tensor | None = None) -> torch.Tensor:
        """One step.

        Args:
            token_ids: [N] int64 (with_head) — or x [N, H] hidden states for a headless stack.
            routing: [n_moe_built, N, top_k] int32 expert ids for the built MoE layers, in order.
        Returns:
            logits [N, vocab] (with_head) or hidden states [N, H].
        """
        if self.layers and any(k == "moe" for k in self.layer_kinds) and self.engine_name is None:
            raise RuntimeError("call set_engine(name) before forward on a stack with MoE layers")
        n = token_ids.shape[0] if self.with_head else x.shape[0]
        if n != self.n_prepared:
            raise RuntimeError(f"stack prepared for N={self.n_prepared}, got N={n}: call prepare(N) first")
        if self.with_head:
            x = self.embedding.index_select(0, token_ids)
        j = 0
        xn = None  # the next block's normed input when the fused MoE combine produced it
        for i, lw in enumerate(self.layers):
            x = self._attention(i, x, xn)
            ids = None
            if lw.kind == "moe":
                ids = routing[j]
                j += 1
            nxt = (self.layers[i + 1].attn_norm if i + 1 < len(self.layers)
                   else self.final_norm if self.with_head else None)
            x = self._ffn(i, x, ids, nxt if self.fused else None)
            x, xn = x if isinstance(x, tuple) else (x, None)
        if self.with_head:
            xn = F.rms_norm(x, (x.shape[-1],), self.final_norm) if xn is None else xn
            return xn @ self.lm_head.T
        return x

    def free(self) -> None:
        """Drop every tensor so the next model gets the memory."""
        self.layers, self.engines, self.k_cache, self.v_cache = [], [], [], []
        for name in ("embedding", "lm_head", "final_norm"):
            if hasattr(self, name):
                delattr(self, name)


def sdpa_backend(name: str | None, n_tokens: int = 0, cuda: bool = True):
    """Context pinning scaled_dot_product_attention to one backend (None: torch's own choice; 'auto': flash for
    N >= 8 queries on a GPU, else torch's choice)."""
    if name == "auto":
        name = "flash" if cuda and n_tokens >= 8 else None
    if name is None:
        return contextlib.nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel
    return sdpa_kernel({"flash": SDPBackend.FLASH_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION,
                        "efficient": SDPBackend.EFFICIENT_ATTENTION, "math": SDPBackend.MATH}[name])


def layer_kinds_of(spec) -> list[str]:
    """'moe'/'dense' for every layer of the spec."""
    moe = set(spec.moe_layer_indices)
    return ["moe" if i in moe else "dense" for i in range(spec.num_layers)]
