"""Units the question is asked in: latency per committed token and tokens/s, diffusion against autoregressive.

- A diffusion step of N parallel tokens commits only some of them: ``tokens_per_forward`` of a published
  decoding setup (conf/decoding/*.yaml). The latency per committed token is step time / tokens committed per
  step, given as a range over the published setups (the sweep's N may differ from the block length the setup
  was published at; holding tokens per step fixed across N is an assumption the report states).
- The dense baseline decodes autoregressively: one token per forward over a KV cache (conf/decoding/
  autoregressive.yaml), so its latency per token is the N=1 step time and it is never credited with more.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tasks.moe.specs import DEFAULT_CONF_DIR
from tasks.moe.step_model import DecodingSetup, load_decoding_setup

AUTOREGRESSIVE = "autoregressive"


@dataclass(frozen=True)
class CommittedTokens:
    """Tokens committed per step: the central setup's value and the range over the published setups."""

    central: float
    low: float
    high: float
    central_setup: str
    setups: tuple[str, ...]

    def per_token_ms(self, step_ms: float) -> tuple[float, float, float]:
        """(central, low, high) ms per committed token for one step time; low uses the most tokens per step."""
        return step_ms / self.central, step_ms / self.high, step_ms / self.low


def published_setups(conf_dir: Path | None = None) -> list[DecodingSetup]:
    """Diffusion decoding setups that publish tokens per forward (autoregressive excluded), sorted by name."""
    d_dir = Path(conf_dir or DEFAULT_CONF_DIR) / "decoding"
    setups = [load_decoding_setup(p.stem, conf_dir) for p in sorted(d_dir.glob("*.yaml"))]
    return [s for s in setups if s.name != AUTOREGRESSIVE and s.tokens_per_forward is not None and s.block_len > 1]


def committed_tokens(central_setup: str, n_tokens: int, conf_dir: Path | None = None) -> CommittedTokens:
    """Tokens committed per step at N parallel tokens: ``central_setup``'s value and the published range.

    Each value is capped at N (a step cannot commit more tokens than it decodes); an autoregressive setup
    gives exactly one token per step.

    Raises:
        ValueError: the central setup publishes no tokens per forward (name the fix: pick one that does).
    """
    central = load_decoding_setup(central_setup, conf_dir)
    if central.name == AUTOREGRESSIVE or central.block_len == 1:
        return CommittedTokens(1.0, 1.0, 1.0, central.name, (central.name,))
    if central.tokens_per_forward is None:
        raise ValueError(f"decoding setup {central.name!r} publishes no tokens_per_forward; choose one that does "
                         f"(sweep.decoding), e.g. {', '.join(s.name for s in published_setups(conf_dir))}")
    setups = published_setups(conf_dir) or [central]
    values = [min(float(n_tokens), float(s.tokens_per_forward)) for s in setups]
    c = min(float(n_tokens), float(central.tokens_per_forward))
    return CommittedTokens(c, min(values + [c]), max(values + [c]), central.name, tuple(s.name for s in setups))


def autoregressive_per_token_ms(decode_step_ms: float) -> float:
    """The dense baseline's latency per token: one decode step (N=1) commits exactly one token."""
    return float(decode_step_ms)


def tokens_per_s(per_token_ms: float) -> float:
    return 1e3 / per_token_ms if per_token_ms > 0 else float("nan")
