"""Row 13: a refused override never echoes the secret back, and short keys are redacted too."""

from __future__ import annotations

import pytest

from flows.safety import SecretInOverrideError, reject_secret_overrides
from tasks.redaction import redact
from tasks.settings import SettingsError


@pytest.mark.parametrize("secret", ["sk-FAKE456", "sk-abc", "nvapi-x1y2", "sk-proj-ABCDEFGHIJKLMNOP"])
def test_short_and_long_keys_are_redacted(secret):
    assert secret not in redact(f"key was {secret}, retry")
    assert "[REDACTED]" in redact(secret)


def test_ordinary_words_are_not_redacted():
    text = "risk-free task-3 desk-top tokens=64 hf_token"
    assert redact(text) == text


@pytest.mark.parametrize("override", ["llm.api_key_env=sk-FAKE456", "embedder.api_key_env=sk-abc", "llm.api_key_env=not a name"])
def test_refused_override_does_not_echo(override):
    with pytest.raises(SecretInOverrideError) as info:
        reject_secret_overrides([override])
    assert override.split("=", 1)[1] not in str(info.value)


def test_settings_error_does_not_echo_key_in_env_slot():
    from flows.config import load_settings

    with pytest.raises(SettingsError) as info:
        load_settings(["llm=openai", "llm.api_key_env=sk-FAKE456"])
    assert "FAKE456" not in str(info.value)


def test_cli_does_not_echo(capsys):
    from flows.main import main

    assert main(["llm.api_key_env=sk-FAKE456"]) == 2
    out = capsys.readouterr()
    assert "FAKE456" not in out.out + out.err
