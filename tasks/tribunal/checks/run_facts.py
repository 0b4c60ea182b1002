"""What the prose says about how the run treated its models agrees with the run's records.

Four statements a reader takes on trust and the bundle can settle, each read in a sentence of the draft's own prose
that names a model of the run:
- "measured" / "timed" / "benchmarked": the model has measured rows (a roofline estimate is not a measurement);
- "validated" / "fitted" / "calibrated" (the routing model): the model has validation rows;
- its architecture: "N layers", "top-k", "of E experts" equal the model's config (conf/model);
- "fits on k GPUs": k covers the GPUs its feasibility row needs.
A negation ("was not measured") lets a statement go.
"""

from __future__ import annotations

import re

from tasks.tribunal.bundle import hardware_family
from tasks.tribunal.checks.base import CheckContext, CheckResult, Finding, not_applicable, register, result
from tasks.tribunal.checks.lexicon import conf_yaml
from tasks.tribunal.checks.prose import negated_before, sentences

SECTIONS = ("Abstract", "Introduction", "Results", "Discussion", "Limitations", "Conclusion")
MEASURED = re.compile(r"\b(?:was|were|is|are|been)\s+(?:also\s+)?(?:measured|timed|benchmarked|profiled)\b", re.I)
VALIDATED = re.compile(r"\b(?:fitted|fit|calibrated|validated)\s+(?:at\s+B=\d+\s+)?(?:to|on|against)\b", re.I)
WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "eight": 8}
FITS_K = re.compile(r"\bfits?\s+(?:on|in|into|across)\s+(\d+|one|two|three|four|five|six|eight)\s+([\w-]*)", re.I)
PER_STEP = re.compile(r"\btokens?\s+(?:committed\s+)?per\s+(?:step|forward)\b", re.I)
ARCH = {"num_layers": re.compile(r"\b(\d+)\s+(?:MoE\s+|transformer\s+)?layers\b", re.I),
        "top_k": re.compile(r"\btop-?(\d+)\b", re.I),
        "num_experts": re.compile(r"\b(?:of|over|among)\s+(\d+)\s+(?:routed\s+)?experts\b", re.I)}


def _models(ctx: CheckContext) -> dict[str, str]:
    """display name -> conf/model key, for the models of the run."""
    keys = {r.model for r in ctx.bundle.sweep}
    asked = getattr(ctx.bundle.question, "structured", None)
    keys |= set(getattr(asked, "models", None) or []) | ({asked.baseline} if asked else set())
    return {conf_yaml("model", k).get("display_name") or k: k for k in keys if k}


def _facts(ctx: CheckContext, key: str, name: str, s: str, others: list[str]) -> list[str]:
    b, out = ctx.bundle, []
    at = s.find(name)
    tail = s[at:]
    ends = [i for i in [tail.find(";")] + [tail.find(o, len(name)) for o in others if o != name] if i > 0]
    tail = tail[:min(ends)] if ends else tail  # the clause about this model, up to the next model or ';'
    if (m := MEASURED.search(tail)) and not negated_before(tail, m.start()):
        measured = b.rows(key, measured=True) or [t for t in b.token_latency if t.model == key and t.provenance.startswith("measured")]
        if not measured:
            out.append(f"says {name} {m.group(0).strip()}, but the run has no measurement of it (roofline only)")
    if (m := MEASURED.search(s)) and PER_STEP.search(s[:m.start()]) and not negated_before(s, m.start()) and \
            any(t.model == key for t in b.token_latency):
        out.append("says tokens per step were measured, but the run takes them from a published decoding setup")
    if (m := VALIDATED.search(s)) and not negated_before(s, m.start()) and b.validation:
        if key not in {v.model for v in b.validation}:
            out.append(f"says the routing model is {m.group(0).split()[0]} on {name}, but its validation rows are "
                       f"{', '.join(sorted({v.model for v in b.validation}))}'s")
    spec = conf_yaml("model", key)
    for field, pat in ARCH.items():
        for m in pat.finditer(tail[:160]):
            if spec.get(field) and int(m.group(1)) != int(spec[field]) and not negated_before(tail, m.start()):
                out.append(f"gives {name} {m.group(0)}, but its config has {field} = {spec[field]}")
    for m in FITS_K.finditer(tail):
        k = int(WORDS.get(m.group(1).lower(), m.group(1)))
        rows = [f for f in b.feasibility if f.model == key]
        named = [f for f in rows if hardware_family(f.hardware) == hardware_family(m.group(2))]
        need = [f.gpus_needed for f in (named or rows)]
        if need and k < min(need):
            out.append(f"says {name} fits on {k} GPU(s), but it needs {min(need)}")
    return out


@register("run_facts", "validator", "do the prose's statements about the run's models (measured, validated, architecture, "
          "GPUs needed) agree with its records?")
def run_facts(ctx: CheckContext) -> CheckResult:
    models = _models(ctx)
    if ctx.report is None or not models or not ctx.bundle.sweep:
        return not_applicable("run_facts", "no report text" if ctx.report is None else "no models of a run")
    findings = []
    for section, s in sentences(ctx.report, SECTIONS, cited=True):
        for name, key in models.items():
            if name in s:
                findings += [Finding(kind="run_fact_wrong", where=section, message=f"{msg}: \"{s[:120]}\"")
                             for msg in _facts(ctx, key, name, s, list(models))]
    return result("run_facts", findings[:6], f"statements about {len(models)} models of the run checked")
