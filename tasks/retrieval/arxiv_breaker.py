"""A circuit breaker for the live arXiv API: after the endpoint could not be reached, go straight to the snapshot.

Without it every run on an offline machine paid the full retry schedule (``retries`` attempts with back-off,
about 1.6 s with the defaults) before the snapshot answered. A failure to *reach* the endpoint (connection
refused, DNS, a timeout) opens the breaker for ``cooldown_s`` seconds; the state is a small JSON file in the
run's cache folder, keyed by the API URL, so later runs (and the second search round of this one) skip the live
call while it is open. An endpoint that answers, even with an error such as 503, is reachable: the breaker stays
closed and the next search asks again. A live answer closes it. ``cooldown_s=0`` disables it.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit


@dataclass(frozen=True)
class BreakerState:
    """The endpoint ``api_url`` was unreachable at ``failed_at`` (epoch s) with ``error``; skip it until ``until``."""

    api_url: str
    failed_at: float
    until: float
    error: str

    def is_open(self, now: float | None = None) -> bool:
        return (now if now is not None else time.time()) < self.until

    def describe(self) -> str:
        """One line for the console: which host, when it failed and how, and how to ask again before the cooldown ends."""
        at, until = (datetime.fromtimestamp(t).strftime("%H:%M") for t in (self.failed_at, self.until))
        host = urlsplit(self.api_url.replace("{}", "")).netloc or self.api_url
        return (f"arXiv unreachable at {at} ({host}: {self.error.split(':')[0]}), using the snapshot; "
                f"retry after {until} or set retrieval.cooldown_s=0")


def state_file(cache_dir: str | Path, api_url: str) -> Path:
    """Where the breaker of ``api_url`` lives inside the cache folder."""
    return Path(cache_dir) / "search" / f"arxiv-breaker-{hashlib.sha256(api_url.encode()).hexdigest()[:16]}.json"


def read_state(cache_dir: str | Path, api_url: str) -> BreakerState | None:
    """The recorded failure of ``api_url``, or None (never tripped, cleared, or an unreadable file)."""
    try:
        data = json.loads(state_file(cache_dir, api_url).read_text())
        state = BreakerState(str(data["api_url"]), float(data["failed_at"]), float(data["until"]), str(data["error"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return state if state.api_url == api_url else None


def open_state(cache_dir: str | Path, api_url: str, cooldown_s: float, now: float | None = None) -> BreakerState | None:
    """The breaker's state while it is open (skip the live call), else None (ask arXiv)."""
    if cooldown_s <= 0:
        return None
    state = read_state(cache_dir, api_url)
    now = time.time() if now is None else now
    if state is None or not state.is_open(now):
        return None
    # A cooldown shortened in the config applies at once.
    return state if now < state.failed_at + cooldown_s else None


def trip(cache_dir: str | Path, api_url: str, error: str, cooldown_s: float, now: float | None = None) -> BreakerState | None:
    """Record that ``api_url`` could not be reached; returns the state written (None when disabled or unwritable)."""
    if cooldown_s <= 0:
        return None
    now = time.time() if now is None else now
    state = BreakerState(api_url, now, now + cooldown_s, error[:160])
    path = state_file(cache_dir, api_url)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{id(state)}.partial")
        tmp.write_text(json.dumps(state.__dict__))
        os.replace(tmp, path)  # readers see the old state or the new one, never half a file
    except OSError:  # no writable cache: this run still falls back; the next one asks arXiv again
        return None
    return state


def clear(cache_dir: str | Path, api_url: str) -> None:
    """A live answer arrived: close the breaker."""
    try:
        state_file(cache_dir, api_url).unlink(missing_ok=True)
    except OSError:
        pass
