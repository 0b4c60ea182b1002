"""What a secret looks like: the one definition, imported wherever text may reach logs, MLflow or artifacts.

No project imports here, so any module (settings, LLM calls, flows) can use it without an import cycle.
"""
from __future__ import annotations

import re

# Values shaped like API keys or bearer tokens (OpenAI, NVIDIA, GitHub, Hugging Face).
SECRET_VALUE = re.compile(r"(sk-[A-Za-z0-9_-]{8,}|nvapi-[A-Za-z0-9_-]{8,}|Bearer\s+\S+|gh[pousr]_[A-Za-z0-9]{16,}|hf_[A-Za-z0-9]{16,})")
# Config or environment keys that name a credential ("tokens", a sweep setting, is not one).
SECRET_KEY = re.compile(r"(^|[._-])(api[_-]?key|access[_-]?key|token|secret|password|passwd|authorization|credentials?)$", re.I)
