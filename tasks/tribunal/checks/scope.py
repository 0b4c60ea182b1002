"""The draft's conclusions stay within what the run covered: its GPUs and its models.

Two defects a domain reviewer objects to at once. (1) Carrying the answer to a GPU the run neither measured, modelled
nor was asked about ("the same holds on A100 and MI300X"): a sentence of the draft's own prose that names such a GPU
generalises beyond its evidence. (2) A sibling of a run model in its place: "Llama-2-7B" where the run's baseline is
Llama-2-70B, the same family at another size, silently swaps the comparison. GPU names are data
(conf/tribunal/lexicon.yaml ``gpu_names``); the run's GPUs and models come from the bundle and conf/.
Sentences that cite a paper report that paper's setting and are left alone.
"""

from __future__ import annotations

import re
from functools import lru_cache

from tasks.tribunal.bundle import hardware_family
from tasks.tribunal.checks.base import CheckContext, CheckResult, Finding, not_applicable, register, result
from tasks.tribunal.checks.lexicon import conf_yaml, lexicon
from tasks.tribunal.checks.prose import sentences

SECTIONS = ("Abstract", "Introduction", "Discussion", "Limitations", "Conclusion")
SIZED = re.compile(r"(?<![\w.-])([A-Za-z][\w.]*(?:-[A-Za-z][\w.]*|-\d+(?:\.\d+)?(?![\d.]*[BMTbmt]\b))*)-(\d+(?:\.\d+)?[BMT])((?:-[\w.]+)*)\b")


@lru_cache(maxsize=1)
def _gpu_patterns() -> list[tuple[str, re.Pattern]]:
    return [(g, re.compile(r"(?<![\w-])" + re.escape(g) + r"(?![\w])", re.I)) for g in lexicon().get("gpu_names", [])]


def _family(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", hardware_family(name))


def run_gpus(ctx: CheckContext) -> set[str]:
    """Families of every GPU the run measured, modelled, projected to or was asked about."""
    b = ctx.bundle
    asked = getattr(b.question, "structured", None)
    names = [r.hardware for r in b.sweep] + [r.source for r in b.sweep] + [t.hardware for t in b.token_latency]
    names += [f.hardware for f in b.feasibility] + [t.hardware for t in getattr(b, "two_gpu", [])]
    names += [getattr(asked, "hardware", None) or "", getattr(asked, "hardware_name", None) or "", b.question.text]
    names += [b.gpu_provenance.gpu] if b.gpu_provenance else []
    names += [conf_yaml("hardware", h).get("display_name", "") for h in {r.hardware for r in b.sweep}]
    fams = {_family(n) for n in names if n}
    text = " ".join(names)
    fams |= {_family(g) for g, p in _gpu_patterns() if p.search(text)}
    return fams


def run_models(ctx: CheckContext) -> list[str]:
    b = ctx.bundle
    asked = getattr(b.question, "structured", None)
    names = list(getattr(asked, "model_names", None) or []) + [getattr(asked, "baseline_name", None) or ""]
    keys = {r.model for r in b.sweep} | set(getattr(asked, "models", None) or []) | {getattr(asked, "baseline", None) or ""}
    names += [conf_yaml("model", k).get("display_name", "") for k in keys if k]
    return [n for n in names if n]


def _sized(name: str) -> tuple[str, str] | None:
    m = SIZED.search(name)
    return (m.group(1).lower(), m.group(2).upper()) if m else None  # the size, not its suffix: 7B of 7B-A1B


@register("scope_of_conclusions", "skeptic", "does the prose stay within the GPUs and models the run covered?")
def scope_of_conclusions(ctx: CheckContext) -> CheckResult:
    if ctx.report is None:
        return not_applicable("scope_of_conclusions", "no report text")
    gpus, models = run_gpus(ctx), run_models(ctx)
    sized = {s for s in map(_sized, models) if s}
    findings = []
    for section, s in sentences(ctx.report, SECTIONS, cited=False):
        foreign = [g for g, p in _gpu_patterns() if p.search(s) and _family(g) not in gpus]
        if foreign:
            findings.append(Finding(kind="out_of_scope_hardware", where=section,
                                    message=f"names {', '.join(foreign)}, which the run neither measured, modelled nor was "
                                            f"asked about: \"{s[:130]}\""))
        for m in SIZED.finditer(s):
            stem, size = m.group(1).lower(), m.group(2).upper()
            if any(stem == st for st, _z in sized) and (stem, size) not in sized:
                run = next(n for n in models if (_sized(n) or ("",))[0] == stem)
                findings.append(Finding(kind="model_swapped", where=section,
                                        message=f"names {m.group(0)}, a sibling of the run's {run} that the run never "
                                                f"measured or modelled: \"{s[:130]}\""))
    return result("scope_of_conclusions", findings[:6], f"GPUs of the run: {', '.join(sorted(gpus)) or 'none'}; "
                  f"models: {', '.join(models) or 'none'}")
