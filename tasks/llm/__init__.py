"""Chat-model provider factory and structured-output helper shared by claims and tribunal.

The factory (and langchain with it, about 0.4 s to import) loads on first use of its names: importing the
settings, as every run does through tasks.settings, does not pay for it.
"""

from tasks.llm.settings import LLMSettings
from tasks.llm.structured import LLMCallError, LLMError, StructuredOutputError, parse_structured, structured_call

_FACTORY = ("LLMUnavailable", "MissingAPIKey", "build_chat_model")

__all__ = [
    "LLMCallError", "LLMError", "LLMSettings", "LLMUnavailable", "MissingAPIKey", "StructuredOutputError",
    "build_chat_model", "parse_structured", "structured_call",
]


def __getattr__(name: str):
    if name in _FACTORY:
        from tasks.llm import factory

        return getattr(factory, name)
    raise AttributeError(f"module 'tasks.llm' has no attribute {name!r}")
