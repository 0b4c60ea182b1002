import pytest

from tasks.llm import LLMSettings, MissingAPIKey, build_chat_model


def test_missing_key_names_the_variable_and_the_switch(monkeypatch):
    monkeypatch.delenv("NVIDIA_API_KEY", raising=False)
    settings = LLMSettings.from_yaml("conf/llm/nim.yaml")
    with pytest.raises(MissingAPIKey) as err:
        build_chat_model(settings)
    assert "NVIDIA_API_KEY" in str(err.value) and "llm=" in str(err.value) and "verifier=hybrid" in str(err.value)


def test_key_is_read_at_call_time_and_never_stored(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-123")
    settings = LLMSettings.from_yaml("conf/llm/openai.yaml")
    assert "sk-secret-123" not in settings.model_dump_json() and settings.api_key_env == "OPENAI_API_KEY"
    model = build_chat_model(settings.model_copy(update={"base_url": "http://127.0.0.1:9/v1"}))
    assert type(model).__name__ == "ChatOpenAI" and "sk-secret-123" not in repr(model)
    assert model.openai_api_key.get_secret_value() == "sk-secret-123"


@pytest.mark.parametrize("path,cls", [("conf/llm/ollama.yaml", "ChatOllama"), ("conf/llm/nim.yaml", "ChatNVIDIA")])
def test_each_provider_builds(monkeypatch, path, cls):
    monkeypatch.setenv("NVIDIA_API_KEY", "nvapi-test")
    assert type(build_chat_model(LLMSettings.from_yaml(path))).__name__ == cls


def test_bad_settings_name_the_key():
    with pytest.raises(ValueError, match="llm.provider"):
        LLMSettings(provider="bard", model="x")
    with pytest.raises(ValueError, match="NAME of an environment variable"):
        LLMSettings(provider="openai", model="x", api_key_env="sk-live-abcdef")


def test_nim_calls_are_bounded_by_the_configured_timeout(monkeypatch):
    # A dead NIM endpoint must cost llm.timeout_s per call, not the client's own default.
    monkeypatch.setenv("NVIDIA_API_KEY", "nvapi-" + "0" * 20)
    settings = LLMSettings.from_yaml("conf/llm/nim.yaml").model_copy(update={"timeout_s": 7.5})
    assert build_chat_model(settings)._client.timeout == 7.5
