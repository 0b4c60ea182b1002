"""Structured output from any tool-calling chat model, with one re-ask on malformed output."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from tasks.redaction import SECRET_VALUE

T = TypeVar("T", bound=BaseModel)


class LLMError(RuntimeError):
    """Base of the errors a caller turns into a deterministic fallback."""


class LLMCallError(LLMError):
    """The endpoint failed (network, auth, timeout)."""


class StructuredOutputError(LLMError):
    """The model's answer did not validate against the schema, even after the re-ask(s)."""


def _bind(model: Any, schema: type[BaseModel]) -> Any:
    try:
        return model.bind_tools([schema], tool_choice="any")
    except (TypeError, ValueError, NotImplementedError):
        return model.bind_tools([schema])


def parse_structured(message: Any, schema: type[T]) -> T:
    """The first tool call's arguments (or a JSON content body) validated as ``schema``."""
    calls = getattr(message, "tool_calls", None) or []
    try:
        if calls:
            return schema.model_validate(calls[0]["args"])
        content = getattr(message, "content", "")
        if isinstance(content, str):
            content = content.strip().removeprefix("```json").removeprefix("```").removesuffix("```")
            return schema.model_validate(json.loads(content))
        raise ValueError("the answer had no tool call and no JSON body")
    except (ValidationError, ValueError, TypeError, KeyError) as exc:
        raise StructuredOutputError(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from None


def structured_call(model: Any, schema: type[T], messages: list, retries: int = 1) -> T:
    """Ask ``model`` for a ``schema`` instance via tool calling.

    Args:
        model: a LangChain chat model that supports ``bind_tools``.
        schema: the pydantic class the answer must validate as.
        messages: LangChain messages or (role, text) tuples.
        retries: re-asks after a malformed answer (the error is shown to the model).
    Returns:
        The validated schema instance.
    Raises:
        StructuredOutputError: still malformed after ``retries`` re-asks.
        LLMCallError: the call itself failed.
    """
    bound = _bind(model, schema)
    messages = list(messages)
    error: StructuredOutputError | None = None
    for _attempt in range(retries + 1):
        try:
            answer = bound.invoke(messages)
        except Exception as exc:  # noqa: BLE001 - providers raise many types; callers need one
            # provider text ends up in verdict rationales and artifacts: strip anything shaped like a key
            raise LLMCallError(f"{type(exc).__name__}: {SECRET_VALUE.sub('[REDACTED]', str(exc))[:200]}") from exc
        try:
            return parse_structured(answer, schema)
        except StructuredOutputError as exc:
            error = exc
            messages = messages + [("human", f"Your last answer was malformed ({exc}). Call the {schema.__name__} "
                                             "tool once, with arguments that match its schema.")]
    raise StructuredOutputError(f"malformed after {retries + 1} attempt(s): {error}")
