"""A fake tool-calling chat model (GenericFakeChatModel with bind_tools) that records what it was sent."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage


class FakeToolModel(GenericFakeChatModel):
    """Replays AIMessages; ``seen`` keeps the message lists of every call."""

    seen: list = []

    def bind_tools(self, tools: Any, **kwargs: Any):
        return self

    def invoke(self, messages, *args, **kwargs):
        self.seen.append(list(messages))
        return super().invoke(messages, *args, **kwargs)


def tool_message(name: str, args: dict) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"call-{name}"}])


def fake_model(*messages: AIMessage) -> FakeToolModel:
    return FakeToolModel(messages=iter(messages), seen=[])
