import pytest

from flows.config import load_settings
from tasks.settings import SettingsError


@pytest.mark.parametrize(
    "overrides, expected",
    [
        (["retrieval.timeoutx=3"], r"unknown config key 'retrieval.timeoutx'.*timeout_s"),
        (["nonsense=1"], r"unknown config key 'nonsense'.*retrieval"),
        (["retrieval=bogus"], r"unknown option 'bogus' for config group 'retrieval'.*arxiv, snapshot"),
        (["+retrieval.bogus=1"], r"retrieval.bogus: unknown key.*timeout_s"),
        (["retrieval.timeout_s=-1"], r"retrieval.timeout_s"),
        (["sweep.tokens=[64]"], r"\+sweep=<option>.*tokens"),
        (["+sweep=tokens", "sweep.tokens=[0,64]"], r"sweep.tokens must be positive"),
    ],
)
def test_bad_override_names_the_key_and_allowed_values(overrides, expected):
    with pytest.raises(SettingsError, match=expected):
        load_settings(overrides)


def test_main_exits_2_with_a_clear_message(capsys):
    from flows.main import main

    assert main(["retrieval.timeoutx=3"]) == 2
    assert "retrieval.timeoutx" in capsys.readouterr().err


def test_llm_verifier_without_its_key_stops_before_the_run(capsys, monkeypatch):
    from flows.main import main

    monkeypatch.delenv("NVIDIA_API_KEY", raising=False)
    assert main(["verifier.extractor=llm"]) == 2
    err = capsys.readouterr().err
    assert "NVIDIA_API_KEY" in err and "verifier=hybrid" in err


def test_two_bad_overrides_still_give_a_clear_message():
    # Explaining the first re-composes the config with the rest; the second bad key must not escape as a traceback.
    with pytest.raises(SettingsError, match="unknown config key 'foo.bar'"):
        load_settings(["foo.bar=1", "baz.qux=2"])


def test_nim_embedder_without_its_key_stops_before_the_run(capsys, monkeypatch):
    from flows.main import main

    monkeypatch.delenv("MY_NIM_KEY", raising=False)
    assert main(["embedder=nim", "embedder.api_key_env=MY_NIM_KEY"]) == 2
    err = capsys.readouterr().err
    assert "MY_NIM_KEY" in err and "embedder=minilm" in err


def test_nim_embedder_reads_the_configured_key_variable(monkeypatch):
    from tasks.index.embedder import load_embedder

    monkeypatch.setenv("MY_NIM_KEY", "nvapi-" + "0" * 20)
    monkeypatch.delenv("NVIDIA_API_KEY", raising=False)
    assert load_embedder("nim", api_key_env="MY_NIM_KEY").name.startswith("nim:")  # was: demanded NVIDIA_API_KEY
