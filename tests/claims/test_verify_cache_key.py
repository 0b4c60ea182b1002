"""The claims stage's cache key: an LLM judge's verdicts are never reused for another model."""

from flows.claims import _verify_key
from flows.config import load_settings


def _key(tmp_path, overrides):
    (tmp_path / "index_card.json").write_text('{"vectors": 3}')
    settings, _ = load_settings(overrides)
    return _verify_key(None, {"claims": [], "index_dir": str(tmp_path), "verifier": settings.verifier, "llm": settings.llm})


def test_llm_verdicts_are_keyed_on_the_judge_model(tmp_path):
    assert _key(tmp_path, ["verifier=llm", "llm=nim"]) != _key(tmp_path, ["verifier=llm", "llm=openai"])
    assert _key(tmp_path, ["verifier=llm", "llm=nim"]) != _key(tmp_path, ["verifier=llm", "llm=nim", "llm.temperature=0.5"])


def test_deterministic_verifiers_ignore_the_llm_group(tmp_path):
    assert _key(tmp_path, ["llm=nim"]) == _key(tmp_path, ["llm=openai"])
