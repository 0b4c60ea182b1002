"""Chat-model provider factory and structured-output helper shared by claims and tribunal."""

from tasks.llm.factory import LLMUnavailable, MissingAPIKey, build_chat_model
from tasks.llm.settings import LLMSettings
from tasks.llm.structured import LLMCallError, LLMError, StructuredOutputError, parse_structured, structured_call

__all__ = [
    "LLMCallError", "LLMError", "LLMSettings", "LLMUnavailable", "MissingAPIKey", "StructuredOutputError",
    "build_chat_model", "parse_structured", "structured_call",
]
