"""What a secret looks like: the one definition, imported wherever text may reach logs, MLflow or artifacts.

No project imports here, so any module (settings, LLM calls, flows) can use it without an import cycle.
"""
from __future__ import annotations

import re

# Values shaped like API keys or bearer tokens (OpenAI, NVIDIA, GitHub, Hugging Face). Prefixed keys are caught from
# 3 characters on (a short or truncated key is still a key); the word boundary keeps "risk-free" or "task-3" clear.
SECRET_VALUE = re.compile(
    r"(\bsk-[A-Za-z0-9_-]{3,}|\bnvapi-[A-Za-z0-9_-]{3,}|Bearer\s+\S+|\bgh[pousr]_[A-Za-z0-9]{8,}|\bhf_[A-Za-z0-9]{16,})"
)
# Config or environment keys that name a credential ("tokens", a sweep setting, is not one).
SECRET_KEY = re.compile(r"(^|[._-])(api[_-]?key|access[_-]?key|token|secret|password|passwd|authorization|credentials?)$", re.I)
# Config keys that hold the NAME of an environment variable ("llm.api_key_env"): a value that is not a name may be the key.
ENV_NAME_KEY = re.compile(r"(^|[._-])[a-z_]*(key|token|secret)_env$", re.I)
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def redact(value: object) -> str:
    """``value`` as text with every secret-shaped substring replaced by ``[REDACTED]``."""
    return SECRET_VALUE.sub("[REDACTED]", str(value))


def shown_value(key: str, value: object) -> str:
    """How a config value may appear in an error message: never a credential, never a would-be key in a ``*_env`` key."""
    if SECRET_KEY.search(key) or (ENV_NAME_KEY.search(key) and not ENV_NAME.fullmatch(str(value))):
        return "[REDACTED]"
    return redact(repr(value))
