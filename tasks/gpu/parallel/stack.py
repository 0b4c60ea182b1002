"""A model's full stack sharded over ranks: tensor-parallel attention, dense FFNs, shared experts and lm_head;
expert-parallel routed experts (tasks/gpu/parallel/expert_parallel.py); replicated embedding, norms, router.

The step is tasks/gpu/harness.py's DiffusionStack step, split Megatron style: each rank holds heads/W query
heads and kv_heads/W KV heads (its slice of the fused QKV rows and of the output projection's columns), a
1/W column slice of every gate/up and the matching row slice of down; partial outputs are summed with one
all-reduce per attention and per FFN. The MoE layer's all-reduce also sums the ranks' routed outputs.
Logits stay vocab-sharded ([N, vocab/W] per rank).

Fused (the default on GPUs, ``fused=True``): issue 15's per-GPU launches (tasks/gpu/parallel/fused.py): RoPE +
KV-cache write in one launch, flash attention from N = 8, the residual add + next RMSNorm in one launch after
each all-reduce, the router GEMM and the shared expert's gate/up as one GEMM, the routing plan (softmax of the
router logits inside), the two grouped expert launches and one combine that adds the shared expert's partial
output, written straight into the all-reduce's buffer (Comm.scratch): 574 kernels per LLaDA2.0-flash step
(about 18 per layer; 42a7e41, results/README.md h200x2).

Weights are random and made on each rank's device at shard size (``init='shard'``): the full model is never
allocated anywhere. ``init='slice'`` draws the full tensors from one seed and keeps the rank's slice, so a
sharded stack computes exactly what the one-rank stack computes (tests, small dims only).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from tasks.gpu.engines import MoEWeights
from tasks.gpu.fused_ops import rope_qkv_write
from tasks.gpu.fused_ops import triton as _triton
from tasks.gpu.harness import layer_kinds_of, sdpa_backend
from tasks.gpu.parallel.comm import Comm, shard_range
from tasks.gpu.parallel.expert_parallel import ExpertParallelMoE
from tasks.gpu.parallel.fused import add_norm, silu_mul


class _Init:
    """Random parameters, either drawn at shard size or drawn whole and sliced."""

    def __init__(self, mode: str, comm: Comm, device, dtype, seed: int) -> None:
        if mode not in ("shard", "slice"):
            raise ValueError(f"init must be 'shard' or 'slice', got {mode!r}")
        self.mode, self.comm, self.device, self.dtype = mode, comm, device, dtype
        shared_seed = seed if mode == "slice" else seed + 7919 * comm.rank
        self.gen = torch.Generator(device=device).manual_seed(shared_seed)

    def _randn(self, shape, scale):
        return torch.randn(*shape, generator=self.gen, device=self.device, dtype=self.dtype).mul_(scale)

    def replicated(self, shape, scale):
        return self._randn(shape, scale)

    def sharded(self, segments: list[int], rest: tuple[int, ...], dim: int, scale: float, what: str):
        """Rank's slice of each segment along ``dim`` (e.g. the q, k, v row blocks of a fused QKV), concatenated."""
        w, r = self.comm.world_size, self.comm.rank
        ranges = [shard_range(seg, w, r, what) for seg in segments]
        if self.mode == "shard":
            local = sum(hi - lo for lo, hi in ranges)
            shape = list(rest)
            shape.insert(dim, local)
            return self._randn(shape, scale)
        full_shape = list(rest)
        full_shape.insert(dim, sum(segments))
        full = self._randn(full_shape, scale)
        parts, base = [], 0
        for seg, (lo, hi) in zip(segments, ranges):
            parts.append(full.narrow(dim, base + lo, hi - lo))
            base += seg
        return torch.cat(parts, dim).contiguous()


class ParallelStack:
    """All layers of one model at real dimensions, sharded over comm's ranks; one N-token diffusion step."""

    def __init__(self, spec, comm: Comm, prefix_len: int, device="cuda", dtype=torch.bfloat16, seed: int = 0,
                 engine: str = "grouped_triton", dispatch: str = "all_to_all", init: str = "shard") -> None:
        if not spec.gated_ffn:
            raise ValueError(f"model {spec.name!r}: the harness implements gated (SwiGLU) FFNs only")
        self.spec, self.comm, self.prefix_len, self.device, self.dtype = spec, comm, prefix_len, device, dtype
        w = comm.world_size
        h, d = spec.hidden, spec.head_dim
        shard_range(spec.num_heads, w, 0, "num_heads")
        shard_range(spec.num_kv_heads, w, 0, "num_kv_heads")
        self.nh, self.nkv = spec.num_heads // w, spec.num_kv_heads // w
        ini = _Init(init, comm, device, dtype, seed)
        ones = lambda: torch.ones(h, device=device, dtype=dtype)  # noqa: E731
        self.layer_kinds = layer_kinds_of(spec)
        self.layers: list[dict] = []
        for kind in self.layer_kinds:
            lw = {"attn_norm": ones(), "ffn_norm": ones(), "kind": kind,
                  "wqkv": ini.sharded([spec.num_heads * d, spec.num_kv_heads * d, spec.num_kv_heads * d], (h,),
                                      0, h ** -0.5, "num_heads*head_dim"),
                  "wo": ini.sharded([spec.num_heads * d], (h,), 1, (spec.num_heads * d) ** -0.5, "num_heads*head_dim")}
            inter = spec.shared_expert_inter * spec.num_shared_experts if kind == "moe" else spec.dense_ffn_inter
            if kind == "moe":
                lw["router"] = ini.replicated((spec.num_experts, h), h ** -0.5)
                e_lo, e_hi = shard_range(spec.num_experts, w, comm.rank, "num_experts")
                ei = spec.expert_inter
                experts = MoEWeights(ini.sharded([spec.num_experts], (2 * ei, h), 0, h ** -0.5, "num_experts"),
                                     ini.sharded([spec.num_experts], (h, ei), 0, ei ** -0.5, "num_experts"))
                lw["moe"] = ExpertParallelMoE(experts, spec.num_experts, spec.top_k, comm, engine, dispatch)
            if inter:
                lw["w13"] = ini.sharded([inter, inter], (h,), 0, h ** -0.5, "ffn intermediate size")
                lw["w2"] = ini.sharded([inter], (h,), 1, inter ** -0.5, "ffn intermediate size")
            if kind == "moe" and inter:  # router rows, then the shared expert's gate/up rows: one GEMM
                both = torch.cat([lw["router"], lw["w13"]])
                lw["ffn_in"], lw["router"], lw["w13"] = both, both[:spec.num_experts], both[spec.num_experts:]
            self.layers.append(lw)
        self.embedding = ini.replicated((spec.vocab, h), 1.0)
        self.lm_head = ini.sharded([spec.vocab], (h,), 0, h ** -0.5, "vocab")
        self.final_norm = ones()
        self.gen, self.init = ini.gen, init
        self.n_prepared = 0
        self.fused = str(device).startswith("cuda") and _triton is not None

    @property
    def moe_layers(self) -> list[ExpertParallelMoE]:
        return [lw["moe"] for lw in self.layers if lw["kind"] == "moe"]

    @property
    def graph_safe(self) -> bool:
        return all(m.graph_safe for m in self.moe_layers)

    def prepare(self, n_tokens: int) -> None:
        """Random prefix KV cache of this rank's KV heads (prefix_len + N positions) and RoPE tables."""
        p, d = self.prefix_len, self.spec.head_dim
        self.k_cache = self.v_cache = None  # free the previous N's buffers first
        full = self.init == "slice"  # draw every KV head, keep this rank's (equal caches at any world size)
        shape = (1, self.spec.num_kv_heads if full else self.nkv, p + n_tokens, d)
        lo = self.comm.rank * self.nkv if full else 0

        def mk():
            t = torch.randn(*shape, generator=self.gen, device=self.device, dtype=self.dtype)
            return t[:, lo:lo + self.nkv].contiguous() if full else t
        self.k_cache = [mk() for _ in self.layers]
        self.v_cache = [mk() for _ in self.layers]
        pos = torch.arange(p, p + n_tokens, device=self.device, dtype=torch.float32)
        inv = 1.0 / (10000.0 ** (torch.arange(0, d, 2, device=self.device, dtype=torch.float32) / d))
        ang = torch.outer(pos, inv)
        self._cos = torch.cat([ang.cos(), ang.cos()], -1).to(self.dtype)
        self._sin = torch.cat([ang.sin(), ang.sin()], -1).to(self.dtype)
        self.n_prepared = n_tokens

    def _rope(self, t, n):
        cos, sin = self._cos[:n, None, :], self._sin[:n, None, :]
        half = t.shape[-1] // 2
        return torch.addcmul(t * cos, torch.cat([-t[..., half:], t[..., :half]], -1), sin)

    def _attention(self, i: int, x: torch.Tensor) -> torch.Tensor:
        lw, n, d, p = self.layers[i], x.shape[0], self.spec.head_dim, self.prefix_len
        nh, nkv = self.nh, self.nkv
        qkv = F.rms_norm(x, (x.shape[-1],), lw["attn_norm"]) @ lw["wqkv"].T
        qk = self._rope(qkv[:, :(nh + nkv) * d].view(n, nh + nkv, d), n)
        q, k, v = qk[:, :nh], qk[:, nh:], qkv[:, (nh + nkv) * d:]
        self.k_cache[i][0, :, p:p + n].copy_(k.transpose(0, 1))
        self.v_cache[i][0, :, p:p + n].copy_(v.view(n, nkv, d).transpose(0, 1))
        kc, vc = self.k_cache[i][:, :, :p + n], self.v_cache[i][:, :, :p + n]
        o = F.scaled_dot_product_attention(q.transpose(0, 1).unsqueeze(0), kc, vc, enable_gqa=nh != nkv)
        return x + self.comm.all_reduce(o[0].transpose(0, 1).reshape(n, nh * d) @ lw["wo"].T)

    @staticmethod
    def _swiglu(x, w13, w2):
        hh = x @ w13.T
        half = hh.shape[-1] // 2
        return (F.silu(hh[:, :half]) * hh[:, half:]) @ w2.T

    def _ffn(self, i: int, x: torch.Tensor, topk_ids) -> torch.Tensor:
        lw = self.layers[i]
        xn = F.rms_norm(x, (x.shape[-1],), lw["ffn_norm"])
        y = self._swiglu(xn, lw["w13"], lw["w2"]) if "w13" in lw else torch.zeros_like(x)
        if lw["kind"] == "moe":
            logits = (xn @ lw["router"].T).float()
            topk_w = torch.softmax(logits.gather(1, topk_ids.long()), dim=-1)
            y = y + lw["moe"](xn, topk_ids, topk_w)
        return x + self.comm.all_reduce(y)

    def _layer_fused(self, i: int, x, xn, ids, next_norm):
        """One block on the fused launches: returns (x, the next block's normed input)."""
        lw, n, d, p, h = self.layers[i], x.shape[0], self.spec.head_dim, self.prefix_len, x.shape[1]
        nh, nkv, comm = self.nh, self.nkv, self.comm
        q = rope_qkv_write(xn @ lw["wqkv"].T, self._cos, self._sin, self.k_cache[i], self.v_cache[i], p, nh, nkv)
        kc, vc = self.k_cache[i][:, :, :p + n], self.v_cache[i][:, :, :p + n]
        with sdpa_backend("auto", n, q.is_cuda):
            o = F.scaled_dot_product_attention(q.unsqueeze(0).transpose(1, 2), kc, vc, enable_gqa=nh != nkv)
        a = torch.matmul(o[0].transpose(0, 1).reshape(n, nh * d), lw["wo"].T, out=comm.scratch((n, h), x.dtype, x.device))
        x, xn = add_norm(x, comm.all_reduce(a), lw["ffn_norm"])
        buf = comm.scratch((n, h), x.dtype, x.device)
        if lw["kind"] == "moe":
            e = self.spec.num_experts
            hh = xn @ (lw["ffn_in"] if "ffn_in" in lw else lw["router"]).T
            shared = silu_mul(hh[:, e:]) @ lw["w2"].T if "w13" in lw else None
            y = lw["moe"](xn, ids, logits=hh[:, :e], residual=shared, out=buf)
        else:
            y = torch.matmul(silu_mul(xn @ lw["w13"].T), lw["w2"].T, out=buf)
        return add_norm(x, comm.all_reduce(y), next_norm)

    def forward(self, token_ids: torch.Tensor, routing: torch.Tensor | None) -> torch.Tensor:
        """One step: token_ids [N] -> this rank's vocab shard of the logits [N, vocab/W].

        routing: [n_moe_layers, N, top_k] int32 expert ids (the same on every rank), None for dense models.
        """
        n = token_ids.shape[0]
        if n != self.n_prepared:
            raise RuntimeError(f"stack prepared for N={self.n_prepared}, got N={n}: call prepare(N) first")
        x = self.embedding.index_select(0, token_ids)
        if self.fused:
            xn, j = F.rms_norm(x, (x.shape[-1],), self.layers[0]["attn_norm"]), 0
            for i, lw in enumerate(self.layers):
                ids = None
                if lw["kind"] == "moe":
                    ids, j = routing[j], j + 1
                nxt = self.layers[i + 1]["attn_norm"] if i + 1 < len(self.layers) else self.final_norm
                x, xn = self._layer_fused(i, x, xn, ids, nxt)
            return xn @ self.lm_head.T
        j = 0
        for i, lw in enumerate(self.layers):
            x = self._attention(i, x)
            ids = None
            if lw["kind"] == "moe":
                ids, j = routing[j], j + 1
            x = self._ffn(i, x, ids)
        return F.rms_norm(x, (x.shape[-1],), self.final_norm) @ self.lm_head.T

    def free(self) -> None:
        self.layers, self.k_cache, self.v_cache = [], None, None
        self.embedding = self.lm_head = None
