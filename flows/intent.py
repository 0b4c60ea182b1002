"""The entry point's reading of a typed question: when it names an MoE diffusion model, the parallel tokens and a dense
baseline, the run gets the parallel-token sweep of those models (``+sweep=tokens`` and a structured block), as
overrides Hydra then composes once with the user's own. ``run.auto_experiment=false``, a ``sweep`` override or a
``question.structured`` override of the user's own leave the command as typed.
"""

from __future__ import annotations

from functools import lru_cache

import yaml

from flows.config import CONF_DIR
from tasks.experiments.intent import ExperimentPlan, ModelName, plan_experiment
from tasks.retrieval.question import QUESTION_FLAGS, TEXT_KEYS, hydra_quote


def _yaml(path) -> dict:
    """A conf file as a dict; an unreadable one counts as empty (the composed config reports it with its fix)."""
    try:
        return yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return {}


@lru_cache(maxsize=1)
def catalogue() -> tuple[list[ModelName], dict[str, str]]:
    """The models (display name, MoE or dense) and target GPUs the sweep knows, from conf/model and conf/hardware."""
    models, gpus = [], {}
    for path in sorted((CONF_DIR / "model").glob("*.yaml")):
        spec = _yaml(path)
        if spec.get("display_name"):
            models.append(ModelName(path.stem, str(spec["display_name"]), bool(spec.get("num_experts")),
                                    str(spec.get("decoding", "autoregressive")) != "autoregressive"))
    for path in sorted((CONF_DIR / "hardware").glob("*.yaml")):
        spec = _yaml(path)
        name = str(spec.get("display_name", "")).split("(")[0].strip()
        if spec.get("hbm_bandwidth_bytes_s") and name[:1].isupper() and not spec.get("measured"):
            gpus[path.stem] = name
    return models, gpus


def _defaults() -> tuple[str, list[int]]:
    """The hardware group conf/config.yaml selects and the N of conf/sweep/tokens.yaml (the sweep adds the asked N)."""
    listed = _yaml(CONF_DIR / "config.yaml").get("defaults") or []
    hardware = next((d["hardware"] for d in listed if isinstance(d, dict) and "hardware" in d), "h100_sxm")
    tokens = _yaml(CONF_DIR / "sweep" / "tokens.yaml").get("tokens") or []
    return str(hardware), [int(n) for n in tokens if isinstance(n, int)]


def typed_text(argv: list[str]) -> str | None:
    """The question text as the user typed it (before quoting), or None."""
    for i, arg in enumerate(argv):
        flag, _, value = arg.partition("=")
        if flag in QUESTION_FLAGS:
            return value or (argv[i + 1] if i + 1 < len(argv) else None)
        if flag in TEXT_KEYS:
            return value.strip("'\"")
    return None


def _structured_override(plan: ExperimentPlan, hardware: str, hardware_name: str) -> str:
    parts = []
    for key, value in plan.structured(hardware, hardware_name).items():
        if isinstance(value, list):
            parts.append(f"{key}:[{','.join(str(v) if isinstance(v, int) else hydra_quote(str(v)) for v in value)}]")
        else:
            parts.append(f"{key}:{hydra_quote(str(value))}")
    return "question.structured={" + ",".join(parts) + "}"


def experiment_overrides(raw_argv: list[str], normalised: list[str]) -> tuple[list[str], ExperimentPlan | None]:
    """``normalised`` plus the overrides of the experiment the typed question asks for (or unchanged, and None)."""
    keys = [a.split("=", 1)[0].lstrip("+~") for a in normalised]
    if any(k == "sweep" or k.startswith(("sweep.", "question.structured")) for k in keys) or \
            any(a.replace(" ", "").lower() == "run.auto_experiment=false" for a in normalised):
        return normalised, None
    text = typed_text(raw_argv)
    if not text:
        return normalised, None
    models, gpus = catalogue()
    plan = plan_experiment(text, models, gpus)
    if plan is None:
        return normalised, None
    default_hw, default_tokens = _defaults()
    chosen = next((a.split("=", 1)[1] for a in normalised if a.split("=", 1)[0].lstrip("+~") == "hardware"), None)
    hardware = chosen or plan.hardware or default_hw  # the user's hardware= wins, then the GPU the question names
    extra = ["+sweep=tokens", f"sweep.models=[{','.join([m.key for m in plan.models] + [plan.baseline.key])}]",
             _structured_override(plan, hardware, gpus.get(hardware, hardware))]
    if not set(plan.tokens) <= set(default_tokens):
        extra.append(f"sweep.tokens=[{','.join(map(str, sorted(set(default_tokens) | set(plan.tokens))))}]")
    if chosen is None and hardware != default_hw:
        extra.append(f"hardware={hardware}")
    return normalised + extra, plan
