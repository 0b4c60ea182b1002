"""UI form fields -> the Hydra override list of ``python flows/main.py``: pure functions, no Prefect.

The deployments in flows/deployments.py take these typed fields, pre-filled with the config's defaults
(``DEFAULTS``, read from conf/). A field left at its default (or blank) adds no override, so an untouched
form runs exactly ``python flows/main.py`` (plus ``+sweep=tokens``).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Literal, Optional

import yaml

_CONF = Path(__file__).resolve().parents[1] / "conf"

# Form choices; tests/deploy checks they match the files in conf/.
Retrieval = Literal["arxiv", "snapshot"]
Embedder = Literal["minilm", "nim"]
Routing = Literal["calibrated", "iid", "trace", "zipf"]
Hardware = Literal["cpu", "h100_sxm", "h200", "measured"]
ModelName = Literal[
    "deepseek_moe_16b", "llada2_flash", "llada2_mini", "llada_moe_7b", "llama2_70b", "llama2_7b",
    "mixtral_8x7b", "olmoe_1b_7b", "qwen15_moe_a27b", "qwen3_30b_a3b", "switch_base_128",
]



def _config_defaults() -> dict:
    """The defaults the form shows: the selected groups of conf/config.yaml and the sweep's lists."""
    try:
        top = yaml.safe_load((_CONF / "config.yaml").read_text())
        groups = {k: v for item in top.get("defaults", []) if isinstance(item, dict) for k, v in item.items()}
        sweep = yaml.safe_load((_CONF / "sweep" / "tokens.yaml").read_text())
    except (OSError, yaml.YAMLError, AttributeError):
        groups, sweep = {}, {}
    return {"retrieval": groups.get("retrieval", "arxiv"), "embedder": groups.get("embedder", "minilm"),
            "routing": groups.get("routing", "calibrated"), "hardware": groups.get("hardware", "h100_sxm"),
            "tokens": list(sweep.get("tokens") or []), "models": list(sweep.get("models") or [])}


DEFAULTS = _config_defaults()


def _changed(field: str, value):
    """``value`` when it differs from the config default, else None (no override)."""
    return None if value in (None, "", []) or value == DEFAULTS.get(field) else value


_RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def _hydra_list(values: list) -> str:
    return "[" + ",".join(str(v) for v in values) + "]"


def research_overrides(
    retrieval: Optional[str] = None,
    embedder: Optional[str] = None,
    run_name: Optional[str] = None,
    smoke: bool = False,
    overrides: Optional[list[str]] = None,
) -> list[str]:
    """The Hydra override list for the ``research`` form; empty fields add nothing (config defaults).

    ``overrides`` go last, so, as on the command line, they win over the typed fields.
    """
    argv: list[str] = []
    retrieval, embedder = _changed("retrieval", retrieval), _changed("embedder", embedder)
    if retrieval:
        argv.append(f"retrieval={retrieval}")
    if embedder:
        argv.append(f"embedder={embedder}")
    if run_name:
        if not _RUN_NAME.match(run_name):
            raise ValueError(f"run_name {run_name!r}: use letters, digits, '.', '_' or '-' (max 100), it becomes run.name")
        argv.append(f"run.name={run_name}")
    if smoke:
        argv.append("run.smoke=true")
    return argv + list(overrides or [])


def sweep_overrides(
    tokens: Optional[list[int]] = None,
    models: Optional[list[str]] = None,
    routing: Optional[str] = None,
    hardware: Optional[str] = None,
    retrieval: Optional[str] = None,
    run_name: Optional[str] = None,
    smoke: bool = False,
    overrides: Optional[list[str]] = None,
) -> list[str]:
    """The Hydra override list for the ``sweep-tokens`` form: ``+sweep=tokens`` plus the filled fields."""
    argv = ["+sweep=tokens"]
    tokens, models = _changed("tokens", list(tokens or [])), _changed("models", list(models or []))
    routing, hardware = _changed("routing", routing), _changed("hardware", hardware)
    if tokens:
        argv.append(f"sweep.tokens={_hydra_list(tokens)}")
    if models:
        argv.append(f"sweep.models={_hydra_list(models)}")
    if routing:
        argv.append(f"routing={routing}")
    if hardware:
        argv.append(f"hardware={hardware}")
    return argv + research_overrides(retrieval=retrieval, run_name=run_name, smoke=smoke, overrides=overrides)


def cli_command(overrides: list[str]) -> str:
    """The shell command that runs the same thing as a form submission."""
    return shlex.join(["python", "flows/main.py", *overrides])
