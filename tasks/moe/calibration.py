"""Fit the calibrated router's concentration (block_logit_scale) to a published unique-experts point.

The one published point (facts file; dMoE arXiv 2605.30876 Table 2, mean over benchmarks): LLaDA2.0-mini,
E=256, top-8, block 32 -> about 70 unique routed experts per MoE layer per forward (iid would give ~163).
Mean unique experts decreases with sigma (sigma=0 is iid), so a bisection over sigma with common random
numbers (fixed seed: the same z and Gumbel draws for every sigma) finds the value that reproduces it.
"""
from __future__ import annotations

import functools
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from tasks.moe.routing import CalibratedRouter
from tasks.moe.specs import load_model_spec
from tasks.moe.stats import expert_stats

log = logging.getLogger(__name__)

# Published calibration point; change only with a source (see ../shared/facts/models-and-hardware.md).
CALIBRATION_MODEL = "llada2_mini"
CALIBRATION_BLOCK_LEN = 32
CALIBRATION_TARGET_UNIQUE = 70.0
CALIBRATION_SOURCE = "dMoE arXiv 2605.30876 Table 2 (70.0/71.5/65.9/70.6), LLaDA2.0-mini block 32"


@dataclass(frozen=True)
class CalibrationFit:
    """Record of one fit: the parameter, its target, what it achieves and how it was found."""

    parameter: str
    value: float
    model: str
    block_len: int
    target_unique: float
    achieved_unique: float
    iid_unique: float
    iterations: int
    converged: bool
    seed: int
    n_steps: int
    tol: float
    method: str
    source: str

    def to_dict(self) -> dict:
        return asdict(self)


def mean_unique(model_spec, sigma: float, block_len: int, n_steps: int, seed: int) -> float:
    """Mean unique experts per MoE layer per step of the calibrated router at one sigma."""
    router = CalibratedRouter(model_spec, block_logit_scale=sigma)
    idx = router.route(block_len, n_steps, seed)
    return expert_stats(idx, model_spec.num_experts).unique_mean


@functools.lru_cache(maxsize=16)
def _fit_cached(model: str, block_len: int, target: float, n_steps: int, seed: int, tol: float,
                max_iter: int, sigma_hi: float, conf_dir: str | None) -> CalibrationFit:
    spec = load_model_spec(model, Path(conf_dir) if conf_dir else None)
    if not spec.top_k <= target <= min(spec.num_experts, block_len * spec.top_k):
        raise ValueError(f"calibration target {target} unreachable for {model} (k={spec.top_k}, "
                         f"E={spec.num_experts}, block {block_len})")
    lo, hi = 0.0, sigma_hi
    u_lo = mean_unique(spec, lo, block_len, n_steps, seed)
    u_hi = mean_unique(spec, hi, block_len, n_steps, seed)
    log.info("calibration fit start: model=%s block=%d target=%.2f; U(sigma=0)=%.2f U(sigma=%.1f)=%.2f",
             model, block_len, target, u_lo, hi, u_hi)
    if not u_hi <= target <= u_lo:
        raise ValueError(f"calibration target {target} not bracketed: U(0)={u_lo:.2f}, U({hi})={u_hi:.2f}")
    sigma, achieved, it, converged = hi, u_hi, 0, False
    for it in range(1, max_iter + 1):
        sigma = 0.5 * (lo + hi)
        achieved = mean_unique(spec, sigma, block_len, n_steps, seed)
        log.info("calibration iter %2d: sigma=%.5f unique=%.3f (target %.2f)", it, sigma, achieved, target)
        if abs(achieved - target) <= tol:
            converged = True
            break
        if achieved > target:  # not concentrated enough: raise sigma
            lo = sigma
        else:
            hi = sigma
    fit = CalibrationFit(parameter="block_logit_scale", value=sigma, model=model, block_len=block_len,
                         target_unique=target, achieved_unique=achieved, iid_unique=u_lo, iterations=it,
                         converged=converged, seed=seed, n_steps=n_steps, tol=tol,
                         method="bisection on sigma, common random numbers", source=CALIBRATION_SOURCE)
    log.info("calibration fit done: block_logit_scale=%.5f achieved %.3f vs target %.2f in %d iterations "
             "(converged=%s)", sigma, achieved, target, it, converged)
    return fit


def fit_block_logit_scale(model: str = CALIBRATION_MODEL, block_len: int = CALIBRATION_BLOCK_LEN,
                          target_unique: float = CALIBRATION_TARGET_UNIQUE, n_steps: int = 32, seed: int = 0,
                          tol: float = 0.1, max_iter: int = 40, sigma_hi: float = 10.0,
                          conf_dir: Path | str | None = None) -> CalibrationFit:
    """Fit sigma so the calibrated router gives ``target_unique`` experts per layer at ``block_len`` tokens.

    Args:
        model: model key of the calibration point.
        block_len: tokens per block at the calibration point.
        target_unique: published mean unique routed experts per MoE layer per forward.
        n_steps: sampled steps per evaluation (each gives one block per MoE layer).
        seed: fixed seed (common random numbers across sigma).
        tol: stop when |achieved - target| <= tol.
        max_iter: bisection iterations at most.
        sigma_hi: upper end of the bracket.
        conf_dir: conf/ directory.
    Returns:
        CalibrationFit (cached per arguments; the fit is logged at INFO).
    """
    return _fit_cached(model, int(block_len), float(target_unique), int(n_steps), int(seed), float(tol),
                       int(max_iter), float(sigma_hi), str(conf_dir) if conf_dir else None)
