"""Expert-activation statistics of routed indices and the saturating growth law of unique experts vs N."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np


def iid_expected_unique(num_experts: int, top_k: int, n_tokens: int | float) -> float:
    """Expected distinct experts when N tokens each pick a uniform random k-subset: E(1-(1-k/E)^N)."""
    if not 1 <= top_k <= num_experts:
        raise ValueError(f"top_k={top_k} must be in [1, num_experts={num_experts}]")
    if n_tokens <= 0:
        raise ValueError(f"n_tokens must be positive, got {n_tokens}")
    return num_experts * (1.0 - (1.0 - top_k / num_experts) ** n_tokens)


@dataclass(frozen=True)
class ExpertStats:
    """Activation statistics of one (model, routing, N) point, over steps and MoE layers."""

    n_tokens: int
    top_k: int
    num_experts: int
    n_steps: int
    unique_mean: float  # distinct experts per layer per step, mean over (step, layer)
    unique_p10: float
    unique_p90: float
    unique_std: float
    unique_per_layer_mean: list[float]  # mean over steps, one entry per MoE layer
    activated_fraction: float  # unique_mean / E
    tokens_per_expert_mean: float  # N*k / unique, mean over (step, layer) -- over activated experts only
    tokens_per_expert_max: float  # busiest expert's token count, mean over (step, layer)
    tokens_per_expert_max_overall: int
    iid_expected_unique: float

    def to_dict(self) -> dict:
        return asdict(self)


def unique_counts(indices: np.ndarray, num_experts: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-(step, layer) distinct-expert counts and the per-expert token counts.

    Returns:
        (unique (S, L) int array, counts (S, L, E) int array).
    """
    s, l, n, k = indices.shape
    flat = (np.arange(s * l, dtype=np.int64).reshape(s, l, 1, 1) * num_experts + indices).ravel()
    counts = np.bincount(flat, minlength=s * l * num_experts).reshape(s, l, num_experts)
    return (counts > 0).sum(axis=-1), counts


def expert_stats(indices: np.ndarray, num_experts: int) -> ExpertStats:
    """Statistics of routed indices.

    Args:
        indices: int array (n_steps, n_moe_layers, n_tokens, top_k).
        num_experts: routed experts per layer, E.
    Returns:
        ExpertStats.
    """
    indices = np.asarray(indices)
    if indices.ndim != 4:
        raise ValueError(f"indices must have shape (steps, layers, tokens, top_k), got {indices.shape}")
    if indices.size == 0:
        raise ValueError(f"indices are empty: shape {indices.shape}")
    if indices.min() < 0 or indices.max() >= num_experts:
        raise ValueError(f"expert indices must lie in [0, {num_experts}), got [{indices.min()}, {indices.max()}]")
    s, l, n, k = indices.shape
    uniq, counts = unique_counts(indices, num_experts)
    u = uniq.astype(np.float64)
    busiest = counts.max(axis=-1)
    return ExpertStats(
        n_tokens=n, top_k=k, num_experts=num_experts, n_steps=s,
        unique_mean=float(u.mean()),
        unique_p10=float(np.percentile(u, 10)),
        unique_p90=float(np.percentile(u, 90)),
        unique_std=float(u.std()),
        unique_per_layer_mean=[float(x) for x in u.mean(axis=0)],
        activated_fraction=float(u.mean() / num_experts),
        tokens_per_expert_mean=float((n * k / u).mean()),
        tokens_per_expert_max=float(busiest.mean()),
        tokens_per_expert_max_overall=int(busiest.max()),
        iid_expected_unique=iid_expected_unique(num_experts, k, n),
    )


@dataclass(frozen=True)
class GrowthFit:
    """Saturating fits of unique experts U vs parallel tokens N.

    Primary (one parameter): U(N) = E(1-(1-p)^N) = E(1-exp(-N/n0)), exact for iid routing with p = k/E.
    Heterogeneous (two parameters): U(N) = E(1-(1+N/(beta*n0))^-beta), the same law averaged over a
    Gamma(beta) spread of per-expert hit rates; it tends to the primary law as beta -> inf and fits
    concentrated (block-correlated) routing, whose growth is slower than exponential saturation.
    """

    num_experts: int
    p: float  # effective per-token probability of hitting a given expert (iid: k/E)
    n0: float  # saturation scale in tokens: -1/ln(1-p)
    initial_slope: float  # dU/dN at N->0 = E/n0 experts per token (iid: ~k)
    small_n_slope: float  # least-squares slope through the origin of U vs N on points with U <= E/4
    r2: float
    mix_n0: float
    mix_beta: float
    mix_r2: float
    ns: list[float]
    uniques: list[float]

    def predict(self, n: float | np.ndarray) -> np.ndarray:
        """Primary-law prediction."""
        return self.num_experts * (1.0 - np.exp(-np.asarray(n, dtype=float) / self.n0))

    def to_dict(self) -> dict:
        return asdict(self)


def _golden_min(f, lo: float, hi: float, iters: int = 100) -> float:
    phi = (math.sqrt(5) - 1) / 2
    a, b = lo, hi
    c, d = b - phi * (b - a), a + phi * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(iters):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - phi * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + phi * (b - a)
            fd = f(d)
    return (a + b) / 2


def _mix_law(x: np.ndarray, e: int, n0: float, beta: float) -> np.ndarray:
    return e * (1.0 - np.power(1.0 + x / (beta * n0), -beta))


def _fit_log_n0(sse_of_log_n0) -> float:
    # SSE is smooth and unimodal in log n0 in practice; a coarse grid guards against a bad bracket.
    grid = np.linspace(math.log(1e-3), math.log(1e7), 101)
    best = grid[int(np.argmin([sse_of_log_n0(g) for g in grid]))]
    step = grid[1] - grid[0]
    return _golden_min(sse_of_log_n0, best - step, best + step, iters=60)


def fit_growth_law(ns, uniques, num_experts: int) -> GrowthFit:
    """Least-squares fit of the saturating law U(N) = E(1-exp(-N/n0)).

    Args:
        ns: token counts N (>0).
        uniques: mean unique experts at each N.
        num_experts: E.
    Returns:
        GrowthFit with p, n0, slopes and R^2.
    """
    x = np.asarray(ns, dtype=float)
    y = np.asarray(uniques, dtype=float)
    if x.shape != y.shape or x.size < 2:
        raise ValueError(f"need >= 2 matching (N, unique) points, got {x.size} and {y.size}")
    if (x <= 0).any():
        raise ValueError("all N must be positive")

    def sse(log_n0: float) -> float:
        return float(((num_experts * (1 - np.exp(-x / math.exp(log_n0))) - y) ** 2).sum())

    log_n0 = _fit_log_n0(sse)
    n0 = math.exp(log_n0)
    ss_tot = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - sse(log_n0) / ss_tot if ss_tot > 0 else 1.0

    def mix_best(log_beta: float) -> tuple[float, float]:
        beta = math.exp(log_beta)
        f = lambda ln0: float(((_mix_law(x, num_experts, math.exp(ln0), beta) - y) ** 2).sum())  # noqa: E731
        ln0 = _fit_log_n0(f)
        return f(ln0), ln0

    betas = np.linspace(math.log(1e-2), math.log(1e3), 31)
    b0 = betas[int(np.argmin([mix_best(b)[0] for b in betas]))]
    log_beta = _golden_min(lambda b: mix_best(b)[0], b0 - (betas[1] - betas[0]), b0 + (betas[1] - betas[0]), 30)
    mix_sse, mix_ln0 = mix_best(log_beta)
    mix_r2 = 1.0 - mix_sse / ss_tot if ss_tot > 0 else 1.0
    small = y <= num_experts / 4
    if small.sum() < 1:
        small = x == x.min()
    slope = float((x[small] * y[small]).sum() / (x[small] ** 2).sum())
    return GrowthFit(num_experts=num_experts, p=float(-math.expm1(-1.0 / n0)), n0=n0,
                     initial_slope=num_experts / n0, small_n_slope=slope, r2=r2,
                     mix_n0=math.exp(mix_ln0), mix_beta=math.exp(log_beta), mix_r2=mix_r2,
                     ns=[float(v) for v in x], uniques=[float(v) for v in y])
