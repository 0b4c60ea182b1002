"""Routing models: top-k expert indices per step, MoE layer and token.

Every router returns int32 indices of shape (n_steps, n_moe_layers, n_tokens, top_k); the k experts of a
token are distinct and ordered by descending score. All sampling is Gumbel-top-k (Plackett-Luce without
replacement) on per-token logits, so the models differ only in what is added to the token's Gumbel noise:

- iid:        nothing (uniform random k-subset per token, the closed form E(1-(1-k/E)^N) holds).
- zipf:       a fixed per-layer popularity log p_e, p ~ rank^-exponent (global skew, no block structure).
- calibrated: a block-level bias sigma*z_e, z ~ N(0,1) drawn once per (step, layer, block) and shared by
              the block's tokens; sigma (``block_logit_scale``) is the concentration, fitted in
              tasks/moe/calibration.py to the published LLaDA2.0-mini point. sigma=0 is iid.
- trace:      replays recorded indices (tasks/moe/trace.py, format in TRACE_FORMAT.md).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tasks.moe.specs import ModelSpec

ROUTING_KINDS = ("iid", "zipf", "calibrated", "trace")


def _check_route_args(spec: ModelSpec, n_tokens: int, n_steps: int) -> None:
    if not isinstance(n_tokens, (int, np.integer)) or n_tokens <= 0:
        raise ValueError(f"n_tokens (sweep.tokens / N) must be a positive integer, got {n_tokens!r}")
    if not isinstance(n_steps, (int, np.integer)) or n_steps <= 0:
        raise ValueError(f"n_steps (sweep.steps) must be a positive integer, got {n_steps!r}")


def _check_spec(spec: ModelSpec) -> None:
    if spec.family != "moe" or spec.num_experts <= 0:
        raise ValueError(f"model {spec.name!r} is dense: routing applies only to MoE models")
    if not 1 <= spec.top_k <= spec.num_experts:
        raise ValueError(f"top_k={spec.top_k} must be in [1, num_experts={spec.num_experts}] for {spec.name!r}")


def gumbel_top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest entries along the last axis, ordered by descending score."""
    part = np.argpartition(-scores, k - 1, axis=-1)[..., :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=-1), axis=-1)
    return np.take_along_axis(part, order, axis=-1).astype(np.int32)


ROUTING_CHUNK_ELEMENTS = 1 << 22  # scores held at once (16 MB of float32): host memory stays flat in N


def _token_chunks(n_layers: int, n_tokens: int, n_experts: int):
    """(layer, t0, t1) pieces of a (layers, tokens, experts) score array, in C order.

    Drawing the scores piece by piece in this order takes exactly the same numbers from the generator as one
    (layers, tokens, experts) draw, so chunked routing equals unchunked routing bit for bit, while a huge N
    (10^6 tokens would be 19 GB of scores per step for LLaDA2.0-mini) never materialises at once.
    """
    rows = max(1, ROUTING_CHUNK_ELEMENTS // n_experts)
    for layer in range(n_layers):
        for t0 in range(0, n_tokens, rows):
            yield layer, t0, min(n_tokens, t0 + rows)


def _gumbel(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    u = rng.random(shape, dtype=np.float32)
    return -np.log(-np.log(np.clip(u, 1e-12, 1.0 - 1e-7)))


class Router:
    """Base class: subclasses implement _route_step(rng, n_tokens, step) -> (layers, n_tokens, k)."""

    kind = "base"

    def __init__(self, spec: ModelSpec) -> None:
        _check_spec(spec)
        self.spec = spec
        self.num_experts = spec.num_experts
        self.top_k = spec.top_k
        self.num_moe_layers = len(spec.moe_layer_indices)

    def params(self) -> dict[str, Any]:
        """Parameters that define this router (for logging and result records)."""
        return {}

    def route(self, n_tokens: int, n_steps: int, seed: int) -> np.ndarray:
        """Sample expert indices.

        Args:
            n_tokens: parallel tokens per step (block length N).
            n_steps: independent decoding steps to sample.
            seed: RNG seed; equal seeds give equal indices.
        Returns:
            int32 array (n_steps, n_moe_layers, n_tokens, top_k).
        """
        _check_route_args(self.spec, n_tokens, n_steps)
        rng = np.random.default_rng(seed)
        self._prepare(rng)
        return np.stack([self._route_step(rng, int(n_tokens), s) for s in range(n_steps)])

    def _prepare(self, rng: np.random.Generator) -> None:
        """Hook for per-call state (e.g. popularity permutations)."""

    def _route_step(self, rng: np.random.Generator, n_tokens: int, step: int) -> np.ndarray:
        raise NotImplementedError


class IidRouter(Router):
    """Each token picks a uniformly random k-subset, independently of every other token."""

    kind = "iid"

    def _route_step(self, rng, n_tokens, step):
        out = np.empty((self.num_moe_layers, n_tokens, self.top_k), dtype=np.int32)
        for layer, t0, t1 in _token_chunks(self.num_moe_layers, n_tokens, self.num_experts):
            out[layer, t0:t1] = gumbel_top_k(rng.random((t1 - t0, self.num_experts), dtype=np.float32), self.top_k)
        return out


class ZipfRouter(Router):
    """Skewed global expert popularity p_e ~ rank^-exponent (a random rank order per layer)."""

    kind = "zipf"

    def __init__(self, spec: ModelSpec, exponent: float = 1.0) -> None:
        super().__init__(spec)
        if not exponent >= 0:
            raise ValueError(f"zipf exponent (routing.exponent) must be >= 0, got {exponent!r}")
        self.exponent = float(exponent)

    def params(self):
        return {"exponent": self.exponent}

    def _prepare(self, rng):
        ranks = np.arange(1, self.num_experts + 1, dtype=np.float64)
        log_p = (-self.exponent * np.log(ranks)).astype(np.float32)
        self.log_pop = np.stack([log_p[rng.permutation(self.num_experts)] for _ in range(self.num_moe_layers)])

    def _route_step(self, rng, n_tokens, step):
        out = np.empty((self.num_moe_layers, n_tokens, self.top_k), dtype=np.int32)
        for layer, t0, t1 in _token_chunks(self.num_moe_layers, n_tokens, self.num_experts):
            g = _gumbel(rng, (t1 - t0, self.num_experts))
            out[layer, t0:t1] = gumbel_top_k(self.log_pop[layer][None, :] + g, self.top_k)
        return out


class CalibratedRouter(Router):
    """Tokens of one decoding block share a block-level logit bias sigma*z, so their experts concentrate."""

    kind = "calibrated"

    def __init__(self, spec: ModelSpec, block_logit_scale: float | None = None, block_len: int | None = None,
                 conf_dir=None, **fit_params: Any) -> None:
        super().__init__(spec)
        self.fit = None
        if block_logit_scale is None:
            from tasks.moe.calibration import fit_block_logit_scale  # lazy: calibration imports this module

            self.fit = fit_block_logit_scale(conf_dir=conf_dir, **fit_params)
            block_logit_scale = self.fit.value
        elif fit_params:
            raise ValueError(f"unexpected calibrated-routing params {sorted(fit_params)} "
                             "(fit params are ignored when block_logit_scale is given)")
        if not block_logit_scale >= 0:
            raise ValueError(f"block_logit_scale (routing.block_logit_scale) must be >= 0, got {block_logit_scale!r}")
        if block_len is not None and block_len <= 0:
            raise ValueError(f"block_len (routing.block_len) must be positive or null, got {block_len!r}")
        self.sigma = float(block_logit_scale)
        self.block_len = block_len

    def params(self):
        p = {"block_logit_scale": self.sigma, "block_len": self.block_len}
        if self.fit is not None:
            p["fit"] = self.fit.to_dict()
        return p

    def _route_step(self, rng, n_tokens, step):
        block = self.block_len or n_tokens
        n_blocks = -(-n_tokens // block)
        z = rng.standard_normal((self.num_moe_layers, n_blocks, self.num_experts), dtype=np.float32)
        out = np.empty((self.num_moe_layers, n_tokens, self.top_k), dtype=np.int32)
        for layer, t0, t1 in _token_chunks(self.num_moe_layers, n_tokens, self.num_experts):
            g = _gumbel(rng, (t1 - t0, self.num_experts))
            bias = z[layer, np.arange(t0, t1) // block]  # each token's block bias
            out[layer, t0:t1] = gumbel_top_k(self.sigma * bias + g, self.top_k)
        return out


class TraceRouter(Router):
    """Replays recorded expert indices (see TRACE_FORMAT.md)."""

    kind = "trace"

    def __init__(self, spec: ModelSpec, path: str | None = None) -> None:
        super().__init__(spec)
        from tasks.moe.trace import read_trace

        if not path:
            raise ValueError("trace routing needs routing.path: a trace file (see tasks/moe/TRACE_FORMAT.md)")
        self.trace = read_trace(path)
        self.trace.check_matches(spec)
        self.path = str(path)

    def params(self):
        return {"path": self.path, "trace_steps": len(self.trace.steps)}

    def route(self, n_tokens, n_steps, seed):
        """Steps are taken in order, starting at seed mod steps and cycling; the first n_tokens tokens are used."""
        _check_route_args(self.spec, n_tokens, n_steps)
        steps = self.trace.steps
        out = []
        for i in range(n_steps):
            step = steps[(seed + i) % len(steps)]
            if step.shape[1] < n_tokens:
                raise ValueError(f"trace {self.path} step has {step.shape[1]} tokens, fewer than n_tokens={n_tokens}")
            out.append(step[:, :n_tokens, :])
        return np.stack(out).astype(np.int32)


_ROUTERS = {"iid": IidRouter, "zipf": ZipfRouter, "calibrated": CalibratedRouter, "trace": TraceRouter}


def make_router(kind: str, spec: ModelSpec, **params: Any) -> Router:
    """Build a router.

    Args:
        kind: one of iid, zipf, calibrated, trace.
        spec: the MoE model.
        **params: kind-specific: zipf(exponent), calibrated(block_logit_scale, block_len, or fit params),
            trace(path). Keys 'kind' and 'name' (from a Hydra routing group) are ignored.
    Returns:
        Router.
    """
    if kind not in _ROUTERS:
        raise ValueError(f"unknown routing kind {kind!r} (config key `routing`); allowed: {', '.join(ROUTING_KINDS)}")
    params = {k: v for k, v in params.items() if k not in ("kind", "name")}
    try:
        return _ROUTERS[kind](spec, **params)
    except TypeError as exc:
        raise ValueError(f"bad parameters for routing {kind!r}: {exc}") from None
