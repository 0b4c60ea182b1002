"""Build a LangChain chat model for the configured provider: NVIDIA NIM, OpenAI(-compatible) or Ollama."""

from __future__ import annotations

import os

from langchain_core.language_models import BaseChatModel

from tasks.llm.settings import LLMSettings


class LLMUnavailable(RuntimeError):
    """The configured chat model cannot be built; the message names the env var or config key to fix."""


class MissingAPIKey(LLMUnavailable):
    """The provider needs a key and its environment variable is unset."""


def _api_key(settings: LLMSettings) -> str | None:
    """Read the key from the environment now (at call time); it is never stored on the settings."""
    if settings.api_key_env is None:
        return None
    key = os.environ.get(settings.api_key_env, "").strip()
    if not key:
        raise MissingAPIKey(
            f"llm.provider={settings.provider} needs the environment variable {settings.api_key_env}; export it, "
            f"or pick another provider with llm=<nim|openai|ollama> (ollama runs locally without a key), "
            f"or use verifier=hybrid, which needs no LLM"
        )
    return key


def build_chat_model(settings: LLMSettings) -> BaseChatModel:
    """A chat model for ``settings.provider``.

    Args:
        settings: typed settings from conf/llm/*.yaml.
    Returns:
        ChatNVIDIA, ChatOpenAI or ChatOllama.
    Raises:
        MissingAPIKey: the provider's key variable is unset (the message says which and how to switch).
        LLMUnavailable: the provider's LangChain package is not installed.
    """
    key = _api_key(settings)
    try:
        if settings.provider == "nim":
            from langchain_nvidia_ai_endpoints import ChatNVIDIA

            kwargs = {"base_url": settings.base_url} if settings.base_url else {}
            return ChatNVIDIA(model=settings.model, api_key=key, temperature=settings.temperature,
                              max_completion_tokens=settings.max_tokens, timeout=settings.timeout_s, **kwargs)
        if settings.provider == "openai":
            from langchain_openai import ChatOpenAI

            return ChatOpenAI(model=settings.model, api_key=key, base_url=settings.base_url,
                              temperature=settings.temperature, timeout=settings.timeout_s,
                              max_retries=settings.max_retries, max_tokens=settings.max_tokens)
        from langchain_ollama import ChatOllama

        kwargs = {"base_url": settings.base_url} if settings.base_url else {}
        return ChatOllama(model=settings.model, temperature=settings.temperature, num_predict=settings.max_tokens,
                          client_kwargs={"timeout": settings.timeout_s}, **kwargs)
    except ImportError as exc:  # pragma: no cover - install problem
        raise LLMUnavailable(f"llm.provider={settings.provider} needs its LangChain package: {exc}") from exc
