"""Compose the Hydra config once and turn it into typed Settings, with errors that name the fix."""

from __future__ import annotations

import re

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import ConfigCompositionException, HydraException, MissingConfigException, OverrideParseException
from omegaconf import DictConfig, OmegaConf

from tasks.retrieval.question import normalise_question_override as _normalise_question
from tasks.settings import PROJECT_ROOT, Settings, SettingsError, settings_from_dict

CONF_DIR = PROJECT_ROOT / "conf"


def _keys_at(cfg: DictConfig, dotted: str) -> list[str]:
    node = cfg
    for part in dotted.split(".")[:-1]:
        node = node.get(part) if isinstance(node, DictConfig) else None
        if node is None:
            return []
    return sorted(str(k) for k in node.keys()) if isinstance(node, DictConfig) else []


def _group_options(group: str) -> list[str]:
    folder = CONF_DIR / group
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def _explain_hydra(exc: Exception, overrides: list[str]) -> str:
    message = str(exc).strip()
    key_match = re.search(r"Could not override '([^']+)'", message) or re.search(r"Key '([^']+)' is not in struct", message)
    if key_match:
        key = key_match.group(1)
        try:  # the config as the other overrides make it; another bad override among them: the defaults
            base = _compose([o for o in overrides if not o.lstrip("+~").startswith(key)])
        except HydraException:
            base = _compose([])
        allowed = ", ".join(_keys_at(base, key)) or "(none)"
        top = key.split(".")[0]
        if top not in base and top in _group_dirs():
            return f"config group '{top}' is not selected, so '{key}' does not exist; select it first with '+{top}=<option>' (options: {', '.join(_group_options(top))})"
        hint = f"; config groups: {', '.join(sorted(_group_dirs()))}" if "." not in key else ""
        return f"unknown config key '{key}'. Allowed keys at that level: {allowed}{hint}. To add a new key on purpose use '+{key}=...'."
    group_match = re.search(r"Could not find '([^/']+)/([^']+)'", message) or re.search(r"Could not load '([^/']+)/([^']+)'", message)
    if group_match:
        group, option = group_match.groups()
        options = ", ".join(_group_options(group)) or "(none)"
        return f"unknown option '{option}' for config group '{group}'. Allowed values: {options}"
    return f"bad override ({type(exc).__name__}): {message.splitlines()[0]}"


def _compose(overrides: list[str]) -> DictConfig:
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))


def normalise_question_override(argv: list[str]) -> list[str]:
    """Quote ``question.text=<any text>`` / ``--question <text>`` for Hydra and select ``question=ask`` for a typed
    question (see tasks/retrieval/question.py). Idempotent; every entry point calls it before composing.

    Raises:
        SettingsError: ``--question`` without its text.
    """
    try:
        return _normalise_question(list(argv))
    except ValueError as exc:
        raise SettingsError(str(exc)) from None


def load_settings(overrides: list[str] | None = None) -> tuple[Settings, dict]:
    """Compose ``conf/config.yaml`` with ``overrides`` and validate it. Only entry points call this (the command
    line, a UI deployment's flow run); everything below them gets the typed Settings.

    Returns:
        The typed Settings and the resolved config as a plain dict (for logging).
    Raises:
        SettingsError: with a message naming the bad key and what it accepts.
    """
    overrides = normalise_question_override(list(overrides or []))
    try:
        resolved = resolve_config(_compose(overrides))
    except (ConfigCompositionException, MissingConfigException, OverrideParseException, HydraException) as exc:
        raise SettingsError(_explain_hydra(exc, overrides)) from None
    finally:
        GlobalHydra.instance().clear()
    return validate_config(resolved, overrides), resolved


def resolve_config(cfg: DictConfig) -> dict:
    """The composed config as a plain dict, interpolations resolved (Hydra's own ``hydra`` node left out).

    Raises:
        SettingsError: an interpolation or type error, named.
    """
    try:
        resolved = OmegaConf.to_container(cfg, resolve=True)
    except Exception as exc:  # OmegaConf interpolation and type errors
        raise SettingsError(f"config error: {type(exc).__name__}: {exc}") from None
    resolved.pop("hydra", None)
    return resolved


def validate_config(resolved: dict, overrides: list[str]) -> Settings:
    """Typed Settings from a resolved config (no files are read): schema, endpoint overrides and write paths.

    Raises:
        SettingsError: naming the bad key, endpoint or path.
    """
    settings = settings_from_dict(resolved)
    from flows.safety import EndpointOverrideError, PathEscapeError, confine_settings_paths, reject_endpoint_overrides

    try:  # writes stay inside the store; an endpoint that gets a key is not set at run time
        reject_endpoint_overrides(overrides)
        confine_settings_paths(settings)
    except (EndpointOverrideError, PathEscapeError) as exc:
        raise SettingsError(f"invalid configuration:\n  {exc}") from None
    return settings


def _group_dirs() -> set[str]:
    return {p.name for p in CONF_DIR.iterdir() if p.is_dir()}


def check_credentials(settings: Settings) -> None:
    """Fail before the run starts when a stage that cannot fall back needs an API key that is not set.

    The claims stage's LLM extractor and LLM verifier need the ``llm`` group's key, and ``embedder=nim`` its
    own; the tribunal does not (tribunal=llm degrades to the rubric with a warning).
    """
    import os

    if settings.embedder.kind == "nim" and not os.environ.get(settings.embedder.api_key_env):
        raise SettingsError(f"embedder=nim needs ${settings.embedder.api_key_env}; export it, or use the offline "
                            "default embedder=minilm")

    needs_llm = settings.verifier.name == "llm" or settings.verifier.extractor == "llm"
    key = settings.llm.api_key_env if settings.llm else None
    if needs_llm and key and not os.environ.get(key):
        raise SettingsError(
            f"verifier={settings.verifier.name} / verifier.extractor={settings.verifier.extractor} needs ${key} for "
            f"llm.provider={settings.llm.provider}; export it, choose llm=ollama (no key), or use verifier=hybrid "
            "verifier.extractor=rules (offline)"
        )
