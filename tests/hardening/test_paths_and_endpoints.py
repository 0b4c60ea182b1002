"""Row 6: config paths stay inside the store (or a folder the operator names), slugs are safe, endpoints that get a
key are not set at run time."""

from __future__ import annotations

import pytest

from flows.config import load_settings
from flows.safety import ALLOW_DIRS_ENV, ALLOWED_ENDPOINTS_ENV
from tasks.settings import SettingsError


def _refused(overrides: list[str]) -> str:
    with pytest.raises(SettingsError) as info:
        load_settings(overrides)
    return str(info.value)


@pytest.mark.parametrize("slug", ["../../../../slugescape", "a/b", ".hidden", "x" * 81])
def test_slug_that_would_name_a_path_is_refused(slug):
    assert "question.slug" in _refused([f"question.slug={slug}"])


@pytest.mark.parametrize("key", ["run.output_dir", "run.cache_dir", "tracking.store_dir"])
def test_paths_outside_the_store_are_refused(key, tmp_path, monkeypatch):
    monkeypatch.delenv(ALLOW_DIRS_ENV, raising=False)
    for value in (str(tmp_path / "elsewhere"), "../../escape", "mlruns/../../escape"):
        message = _refused([f"{key}={value}"])
        assert key in message and ALLOW_DIRS_ENV in message


def test_symlink_out_of_the_store_is_refused(tmp_path, monkeypatch):
    from tasks.settings import PROJECT_ROOT

    monkeypatch.delenv(ALLOW_DIRS_ENV, raising=False)
    link = PROJECT_ROOT / "mlruns" / f".hardening-link-{tmp_path.name}"
    link.parent.mkdir(exist_ok=True)
    link.symlink_to(tmp_path)
    try:
        assert "run.output_dir" in _refused([f"run.output_dir={link}/out"])
    finally:
        link.unlink()


def test_operator_named_folder_and_store_paths_are_accepted(tmp_path, monkeypatch):
    monkeypatch.setenv(ALLOW_DIRS_ENV, str(tmp_path))
    settings, _ = load_settings([f"run.output_dir={tmp_path / 'out'}", "run.cache_dir=mlruns/cache-x", "question.slug=ok-slug_1.2"])
    assert settings.run.output_dir == str(tmp_path / "out")


def test_endpoint_override_is_refused_unless_allow_listed(monkeypatch):
    monkeypatch.delenv(ALLOWED_ENDPOINTS_ENV, raising=False)
    for override in ("llm.base_url=http://127.0.0.1:9999/v1", "+llm.base_url=http://127.0.0.1:9999/v1"):
        assert "SOVEREIGN_ALLOWED_ENDPOINTS" in _refused(["llm=openai", override])
    monkeypatch.setenv(ALLOWED_ENDPOINTS_ENV, "http://127.0.0.1:9999/v1")
    settings, _ = load_settings(["llm=openai", "llm.base_url=http://127.0.0.1:9999/v1/"])
    assert settings.llm.base_url.startswith("http://127.0.0.1:9999")


def test_ui_form_free_overrides_cannot_set_the_endpoint(monkeypatch):
    from flows.forms import research_overrides

    monkeypatch.delenv(ALLOWED_ENDPOINTS_ENV, raising=False)
    overrides = research_overrides("snapshot", "minilm", None, True, ["llm=openai", "llm.base_url=http://127.0.0.1:9999/v1"])
    assert "endpoint" in _refused(overrides)
