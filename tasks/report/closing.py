"""The closing sections of an experiment's report: the discussion, the limitations and the conclusion.

Split from tasks/report/flagship.py (the answer and the results tables), whose helpers they share; flagship.py
re-exports them, so ``flagship.discussion`` and friends keep working.
"""

from __future__ import annotations

import re

from tasks.gpu.results import gpus_in_name
from tasks.provenance import Provenance
from tasks.report.flagship import (_band_text, _central_model, _growth_sentence, _name, _per_token, _sens, decoding_prov, fig, hw_words, prov)
from tasks.tribunal.bundle import EvidenceBundle, TokenLatencyRow, hardware_family
from tasks.tribunal.common import num


def harness_efficiency(bundle: EvidenceBundle) -> list[tuple[str, float, float, str]]:
    """(model, measured N=1 ms, roofline N=1 ms on the measured GPU's datasheet, GPU) for each measured model; for a
    step measured on several GPUs the one-GPU roofline is divided by their count (ideal split)."""
    out = []
    for r in bundle.rows(n_tokens=1, measured=True):
        fam = hardware_family(r.hardware)
        roof = next((x for x in bundle.rows(r.model, 1, measured=False) if hardware_family(x.hardware) == fam and x.step_ms), None)
        if roof and r.step_ms:  # a sharded step ('2xNVIDIA H200') against the datasheet roofline split ideally over its GPUs
            out.append((r.model, r.step_ms, roof.step_ms / gpus_in_name(r.hardware), r.hardware))
    return out


def roof_source(gpu: str) -> str:
    w = gpus_in_name(gpu)
    return f"roofline on {gpu} datasheet" + (f", one-GPU roofline / {w} (ideal split)" if w > 1 else "")


def discussion(bundle: EvidenceBundle) -> str:
    q = bundle.asked
    m = _central_model(bundle)
    paras = []
    g = _growth_sentence(bundle)
    if g:
        paras.append("Expert explosion is sub-linear: doubling the parallel tokens does not double the experts read. " + g
                     + " Which of these holds at N>32 is not known from published data; the band, not the central value, "
                       "is the answer's uncertainty.")
    eff = {x[0]: x for x in harness_efficiency(bundle)}
    if m and m in eff:
        _, ms, roof, gpu = eff[m]
        paras.append(f"The step time grows more slowly than the bytes because the harness has a fixed cost: at N=1 a "
                     f"{_name(bundle, m)} step takes {fig(ms, 'ms', Provenance(kind='measured', source=gpu))} against a "
                     f"{fig(roof, 'ms', Provenance(kind='modelled', source=roof_source(gpu)))} roofline, "
                     "so the measured latency cost of expert explosion is compressed; a leaner serving stack would show it larger.")
    tl = [t for t in bundle.token_latency if t.provenance.startswith("measured")]
    mt = next((t for t in tl if t.model == m), None)
    bt = next((t for t in tl if t.model == q.baseline), None)
    if mt and bt:
        paras.append(f"Against the dense baseline the right unit is the committed token: {_name(bundle, m)} commits "
                     f"{num(mt.tokens_per_step_low, 3)}–{num(mt.tokens_per_step_high, 3)} tokens per step, {q.baseline_name} one. "
                     f"Its per-token latency ({_per_token(mt)} at N={mt.n_tokens}) is about "
                     f"{num(bt.per_token_ms / mt.per_token_ms, 2)}× below the baseline's decode ({_per_token(bt)}), mostly because it "
                     "streams far fewer weight bytes per step; " + _gap_words(bundle, m, bt) + ".")
    return "\n\n".join(paras) or "No measured or modelled numbers to discuss."


def _worst_per_token(bundle: EvidenceBundle, model: str, measured_gpu: bool) -> tuple[float, int] | None:
    """The top of the routing band's per-token latency over the asked N (not every N of the sweep), and its N."""
    fam = hardware_family(bundle.asked.hardware)
    asked = set(bundle.asked.parallel_tokens)
    vals = [(s.per_token_ms_high, s.n_tokens) for s in bundle.sensitivity if s.model == model and s.per_token_ms_high
            and s.n_tokens in asked and (hardware_family(s.hardware) != fam) == measured_gpu]
    return max(vals) if vals else None


def _gap_words(bundle: EvidenceBundle, model: str, base: TokenLatencyRow) -> str:
    found = _worst_per_token(bundle, model, measured_gpu=not hardware_family(base.hardware) == hardware_family(bundle.asked.hardware))
    if found is None:
        return "how far expert explosion narrows that gap is not bounded here (no sensitivity band)"
    worst, n = found
    w = fig(worst, "ms", Provenance(kind="modelled", source="routing band, blocks of 32"))
    if worst < base.per_token_ms:
        return f"even at the top of the routing band at N={n} ({w} per token) expert explosion narrows but does not close that gap"
    return f"at the top of the routing band at N={n} ({w} per token) expert explosion closes that gap"


def limitations(bundle: EvidenceBundle) -> str:
    items = []
    for model, ms, roof, gpu in harness_efficiency(bundle):
        items.append(f"Harness efficiency (measured in the same run): {model} at N=1 takes "
                     f"{fig(ms, 'ms', Provenance(kind='measured', source=gpu))}, "
                     f"{num(100 * roof / ms, 3)}% of its datasheet roofline "
                     f"{fig(roof, 'ms', Provenance(kind='modelled', source=roof_source(gpu)))}.")
    ns = sorted(bundle.asked.parallel_tokens)
    validated = max((v.n_tokens for v in bundle.validation), default=32)  # the largest published block it is checked at
    beyond = [n for n in ns if n > validated]
    items.append("Synthetic routing: unique-expert counts come from a router fitted to one published point (block 32); they are "
                 "modelled, not measured, even where the step time is measured"
                 + (f", and N={'/'.join(map(str, beyond))} extrapolate beyond the validated blocks (8–32); the sensitivity "
                    "band shows how much that matters." if beyond else "; the asked N lie within the validated blocks (8–32)."))
    rules = list(dict.fromkeys(part.strip() for t in bundle.token_latency if t.provenance.startswith("projected")
                               for part in prov(t.provenance).source.split(";")))
    items.append("Projection rule to the target GPU: " + ("; ".join(rules) if rules else "none used")
                 + ". Bandwidth scaling assumes the same fraction of bandwidth on both GPUs; multi-GPU splits ignore communication."
                 + (" A step measured sharded (e.g. on 2 GPUs) is scaled by measured GPUs / target GPUs: its own collectives "
                    "are scaled with it, and the extra communication of the larger split is not included, so that projection "
                    "is a lower bound." if any(" measured GPUs / " in r for r in rules) else ""))
    items.append(_tokens_per_step_limit(bundle, ns) + " Batch size 1 and one prefix length only.")
    missing = [mm for mm in bundle.asked.models if not bundle.rows(mm, measured=True)]
    if missing:
        items.append(f"Not measured on a GPU: {', '.join(missing)} (roofline only).")
    return "\n".join(f"- {i}" for i in items)


def _tokens_per_step_limit(bundle: EvidenceBundle, ns: list[int]) -> str:
    """Whose published tokens per step the latency rests on, and the models it is borrowed for."""
    rows = [t for t in bundle.token_latency if t.model in bundle.asked.models]
    source = decoding_prov(rows[0]).source if rows else "the decoding setup"
    owner = re.split(r"\s+(?:tech report|\(|,)", source)[0].strip()
    flat = re.sub(r"[^a-z0-9]", "", owner.lower())
    borrowed = [n for m, n in zip(bundle.asked.models, bundle.asked.model_names)
                if flat and flat not in re.sub(r"[^a-z0-9]", "", n.lower())]
    text = (f"Tokens committed per step are published by {source}; holding them fixed at N={' and '.join(map(str, ns))} "
            "is an assumption.")
    if borrowed:
        text += (f" They are {owner}'s figures applied to {', '.join(borrowed)}, whose own tokens per step are not "
                 "published in our sources.")
    return text


def conclusion(bundle: EvidenceBundle) -> str:
    """One paragraph answering the question directly, with numbers and bands (reuses the abstract's sentences)."""
    q = bundle.asked
    m = _central_model(bundle)
    if m is None:
        return "The question is not answered with numbers: no sweep point for its models."
    ns = sorted(q.parallel_tokens)
    s = [x for x in (_sens(bundle, m, n, True) or _sens(bundle, m, n, False) for n in ns) if x]
    words = []
    if len(s) >= 2:
        words.append(f"Going from N={ns[0]} to N={ns[-1]} parallel tokens, {_name(bundle, m)}'s step reads "
                     f"{_band_text(s[0])} → {_band_text(s[-1])} distinct experts per MoE layer (×"
                     f"{num(s[-1].experts_central / s[0].experts_central, 3)} central, up to ×"
                     f"{num(s[-1].experts_high / s[0].experts_high, 3)} under blocks of 32): expert explosion is real but sub-linear.")
    target = [t for t in bundle.token_latency if hardware_family(t.hardware) == hardware_family(q.hardware)]
    mt = [t for t in target if t.model == m and t.n_tokens in ns]
    bt = next((t for t in target if t.model == q.baseline), None)
    if mt and bt:
        top = _worst_per_token(bundle, m, measured_gpu=False)
        worst = max([t.per_token_ms_high or t.per_token_ms for t in mt] + ([top[0]] if top else []))
        verdict = (f"so across the routing band {_name(bundle, m)} has lower latency per committed token than {q.baseline_name}"
                   if worst < bt.per_token_ms else
                   f"so at the top of the routing band {_name(bundle, m)} loses to {q.baseline_name} per committed token")
        words.append(f"On {q.hardware_name} it costs {' and '.join(_per_token(t) for t in mt)} per committed token, against "
                     f"{_per_token(bt)} for {q.baseline_name}'s decode on {hw_words(bundle, bt.hardware)}, {verdict}.")
    util = [r for r in bundle.rows(m, measured=True) if r.n_tokens in ns and r.bandwidth_utilisation]
    if util:
        words.append("Memory-bandwidth utilisation of its step is "
                     + " and ".join(f"{num(100 * r.bandwidth_utilisation, 3)}% {r.step_provenance.tag()}" for r in util)
                     + f" at N={', '.join(str(r.n_tokens) for r in util)}.")
    return " ".join(words) or "Not enough numbers to answer the question directly."
