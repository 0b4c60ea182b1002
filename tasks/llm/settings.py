"""Typed chat-model settings, built once from conf/llm/<provider>.yaml.

Only the NAME of the environment variable that holds an API key is stored here, never the key, so
these settings can be logged or saved with a run.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

PROVIDERS = ("nim", "openai", "ollama")
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")


class LLMSettings(BaseModel):
    """conf/llm/*.yaml: provider, model and call limits."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: Literal["nim", "openai", "ollama"]
    model: str
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    timeout_s: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=2, ge=0, description="transport retries inside the client")
    max_tokens: int | None = Field(default=1024, ge=1)
    api_key_env: str | None = Field(default=None, description="NAME of the env var holding the key (None: no key)")
    base_url: str | None = Field(default=None, description="OpenAI-compatible / self-hosted NIM / Ollama endpoint")

    @field_validator("provider", mode="before")
    @classmethod
    def _provider_known(cls, value):
        if value not in PROVIDERS:
            raise ValueError(f"llm.provider={value!r} is unknown; choose one of: {', '.join(PROVIDERS)}")
        return value

    @field_validator("api_key_env")
    @classmethod
    def _env_name_not_key(cls, value):
        if value is not None and not _ENV_NAME.fullmatch(value):
            raise ValueError("llm.api_key_env must be the NAME of an environment variable (e.g. NVIDIA_API_KEY), "
                             "never the key itself")
        return value

    @classmethod
    def from_yaml(cls, path: str | Path) -> "LLMSettings":
        return cls(**(yaml.safe_load(Path(path).read_text()) or {}))
