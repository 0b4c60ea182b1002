import pytest
from langchain_core.messages import AIMessage
from pydantic import BaseModel

from tasks.llm import LLMCallError, StructuredOutputError, structured_call
from tests.llm.fakes import fake_model, tool_message


class Answer(BaseModel):
    label: str
    score: float


def test_valid_tool_call_is_parsed():
    model = fake_model(tool_message("Answer", {"label": "ok", "score": 0.5}))
    assert structured_call(model, Answer, [("human", "hi")]) == Answer(label="ok", score=0.5)


def test_malformed_output_is_reasked_once_with_the_error():
    model = fake_model(tool_message("Answer", {"label": "ok"}), tool_message("Answer", {"label": "ok", "score": 1}))
    assert structured_call(model, Answer, [("human", "hi")], retries=1).score == 1
    assert len(model.seen) == 2 and "malformed" in model.seen[1][-1][1]


def test_still_malformed_raises_a_typed_error():
    model = fake_model(AIMessage(content="no tools here"), AIMessage(content="{not json"))
    with pytest.raises(StructuredOutputError, match="2 attempt"):
        structured_call(model, Answer, [("human", "hi")], retries=1)


def test_json_body_without_tool_call_is_accepted():
    model = fake_model(AIMessage(content='```json\n{"label": "x", "score": 2}\n```'))
    assert structured_call(model, Answer, [("human", "hi")]).label == "x"


def test_endpoint_failure_is_a_typed_error():
    class Down:
        def bind_tools(self, tools, **kw):
            return self

        def invoke(self, messages):
            raise TimeoutError("read timed out")

    with pytest.raises(LLMCallError, match="TimeoutError"):
        structured_call(Down(), Answer, [("human", "hi")])


def test_provider_error_text_is_stripped_of_keys():
    # The error text becomes a verdict rationale, which is written to claims.csv/jsonl artifacts.

    class Leaky:
        def bind_tools(self, *a, **kw):
            return self

        def invoke(self, messages):
            raise RuntimeError("401 for key nvapi-abcdefghijklmnop0123 at https://integrate.api.nvidia.com")

    with pytest.raises(LLMCallError) as info:
        structured_call(Leaky(), Answer, [("human", "x")])
    assert "nvapi-" not in str(info.value) and "[REDACTED]" in str(info.value)
