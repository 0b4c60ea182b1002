"""The flagship report's answer parts: abstract, validation, sensitivity, per-token latency and feasibility (the
discussion, limitations and conclusion are in tasks/report/closing.py, re-exported here). Every number is a tasks.provenance.Figure rendered with its tag from the
bundle's records (never typed by hand), so the tribunal can parse the tag back and check it against the bundle.
"""

from __future__ import annotations

import re

from tasks.provenance import Figure, Provenance
from tasks.tribunal.bundle import EvidenceBundle, SensitivityRow, TokenLatencyRow, hardware_family
from tasks.tribunal.common import num

ROUTING_SOURCE = "calibrated routing"
FEAS_SOURCE = "weights + KV cache vs GPU memory"


def prov(text: str | None, default: str = "") -> Provenance:
    """'measured:NVIDIA H200', 'projected: <rule>', 'modelled[: <source>]' -> Provenance."""
    kind, _, src = (text or "modelled").partition(":")
    kind = kind.strip() if kind.strip() in ("measured", "modelled", "published", "projected") else "modelled"
    return Provenance(kind=kind, source=src.strip() or default or kind)  # type: ignore[arg-type]


def fig(value: float, unit: str, p: Provenance, low: float | None = None, high: float | None = None, digits: int = 3) -> str:
    if low is not None and high is not None and f"{low:.{digits}g}" == f"{high:.{digits}g}":
        low = high = None
    return Figure(value=value, unit=unit, provenance=p, low=low, high=high).text(digits)


def hw_words(bundle: EvidenceBundle, hardware: str) -> str:
    """'h100_sxm x2' -> '2 × H100 SXM'; 'h100_sxm' -> 'one H100 SXM'; a measured GPU name stays."""
    q = bundle.asked
    base, _, count = hardware.partition(" x")
    name = q.hardware_name if base == q.hardware else base
    words = {"2": "two", "3": "three", "4": "four", "5": "five", "6": "six", "8": "eight"}
    return f"{words.get(count, count)} {name}s" if count else (f"one {name}" if base == q.hardware else name)


def _table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


def _name(bundle: EvidenceBundle, model: str) -> str:
    q = bundle.asked
    if model in q.models and len(q.model_names) == len(q.models):
        return q.model_names[q.models.index(model)]
    if model == q.baseline:
        return q.baseline_name
    from tasks.moe.specs import load_model_spec  # a model outside the question (the validation's LLaDA2.0-mini)

    try:
        return load_model_spec(model).display_name
    except (OSError, ValueError, KeyError):
        return model


def _target_rows(rows: list, bundle: EvidenceBundle) -> list:
    fam = hardware_family(bundle.asked.hardware)
    return [r for r in rows if hardware_family(r.hardware) == fam]


def _measured_rows(rows: list) -> list:
    return [r for r in rows if r.provenance.startswith("measured")]


def _central_model(bundle: EvidenceBundle) -> str | None:
    """The question model with the most evidence: measured token-latency rows first, then any."""
    models = [m for m in bundle.asked.models if any(t.model == m for t in bundle.token_latency)]
    measured = [m for m in models if any(t.model == m and t.provenance.startswith("measured") for t in bundle.token_latency)]
    return (measured or models or [None])[0]


def decoding_prov(t: TokenLatencyRow) -> Provenance:
    """The published source of the tokens committed per step (the decoding setups' own ``source``)."""
    from tasks.moe.step_model import load_decoding_setup

    sources = []
    for name in (d.strip() for d in t.decoding.split(",")):
        try:
            sources.append(load_decoding_setup(name).source)
        except ValueError:
            continue
    return Provenance(kind="published", source="; ".join(dict.fromkeys(sources)) or t.decoding)


def _per_token(t: TokenLatencyRow) -> str:
    return fig(t.per_token_ms, "ms", prov(t.provenance), t.per_token_ms_low, t.per_token_ms_high)


def _band_text(s: SensitivityRow) -> str:
    p = Provenance(kind="modelled", source=ROUTING_SOURCE)
    return fig(s.experts_central, "experts", p, s.experts_low, s.experts_high)


def _sens(bundle: EvidenceBundle, model: str, n: int, target: bool) -> SensitivityRow | None:
    fam = hardware_family(bundle.asked.hardware)
    rows = [s for s in bundle.sensitivity if s.model == model and s.n_tokens == n
            and (hardware_family(s.hardware) == fam) == target]
    return rows[0] if rows else None


def abstract(bundle: EvidenceBundle) -> str:
    """The answer: expert counts with their band, per-committed-token latency vs the baseline's decode,
    ONE target-GPU answer with its rule, and how many target GPUs each model needs."""
    q = bundle.asked
    m = _central_model(bundle)
    if m is None:
        return "The sweep produced no per-token latency for the question's models, so the question is not answered with numbers."
    ns = sorted(q.parallel_tokens)
    out = []
    bands = [(n, _sens(bundle, m, n, True) or _sens(bundle, m, n, False)) for n in ns]
    bands = [(n, s) for n, s in bands if s]
    if bands:
        iid = Provenance(kind="modelled", source="i.i.d. routing")
        parts = [f"{_band_text(s)} at N={n} (i.i.d. upper bound {fig(s.hypotheses['iid'], 'experts', iid)})" for n, s in bands]
        out.append(f"For {_name(bundle, m)} the number of distinct routed experts a decoding step reads per MoE layer is "
                   + " and ".join(parts) + "; the central value is one block of N tokens, the band runs to ⌈N/32⌉ independent "
                   "blocks of 32 (the routing model is validated only up to block 32).")
    val = [v for v in bundle.validation if not v.used_for_fit]
    if val:
        worst = max(val, key=lambda v: abs(v.error_pct))
        on = sorted({v.model for v in val})
        whose = "" if on == [m] else f" of {', '.join(_name(bundle, x) for x in on)}"
        out.append(f"Fitted at B=32, the routing model reproduces the published counts{whose} "
                   f"{Provenance(kind='published', source=worst.citation).tag()} at "
                   f"{', '.join(f'B={v.n_tokens}' for v in val)} within "
                   f"{num(abs(worst.error_pct), 2)}% {Provenance(kind='modelled', source=ROUTING_SOURCE + ' vs published').tag()}"
                   + (f"; no published counts validate it for {_name(bundle, m)}." if m not in on else "."))
    meas = _measured_rows([t for t in bundle.token_latency if t.model == m])
    base_meas = _measured_rows([t for t in bundle.token_latency if t.model == q.baseline])
    if meas:
        gpu = meas[0].hardware
        per = [f"{_per_token(t)} at N={t.n_tokens}" for t in meas if t.n_tokens in ns]
        s = (f"Per committed token (step time ÷ {num(meas[0].tokens_per_step_low, 3)}–{num(meas[0].tokens_per_step_high, 3)} "
             f"tokens committed per step {decoding_prov(meas[0]).tag()}) one {_name(bundle, m)} step on {gpu} costs " + " and ".join(per))
        b = next((t for t in base_meas if t.hardware == gpu), None)
        if b:
            s += (f", against {_per_token(b)} per token for {q.baseline_name}'s autoregressive decode at batch size one "
                  f"(one token per step)")
        out.append(s + ".")
    target = [t for t in bundle.token_latency if hardware_family(t.hardware) == hardware_family(q.hardware)]
    mt = [t for t in target if t.model == m and t.n_tokens in ns]
    bt = next((t for t in target if t.model == q.baseline), None)
    if mt:
        rule = prov(mt[0].provenance).source
        how = ("the measured step scaled by the datasheet bandwidth ratio" if mt[0].provenance.startswith("projected")
               else "the datasheet roofline")
        s = (f"On {q.hardware_name} — one answer: {how}, the rule in its tag — that is "
             + " and ".join(f"{_per_token(t)} per token at N={t.n_tokens}" for t in mt))
        sb = [x for x in (_sens(bundle, m, n, True) for n in ns) if x and x.per_token_ms_high]
        if sb:
            s += (" (" + " and ".join(f"up to {fig(x.per_token_ms_high, 'ms', prov(x.provenance, rule))} at N={x.n_tokens}" for x in sb)
                  + " under the blocks-of-32 routing hypothesis)")
        if bt:
            s += f", against {_per_token(bt)} per token for {q.baseline_name}'s decode on {hw_words(bundle, bt.hardware)}"
        out.append(s + ".")
    from tasks.report.sharded import abstract_sentences

    out += abstract_sentences(bundle, m)
    need = [f for f in bundle.feasibility if hardware_family(f.hardware) == hardware_family(q.hardware)]
    if need:
        p = Provenance(kind="modelled", source=FEAS_SOURCE)
        gb = Provenance(kind="modelled", source="weights + KV cache")
        words = [f"{_name(bundle, f.model)} needs {fig(f.weights_gb + f.kv_cache_gb, 'GB', gb)} and "
                 + ("fits on one" if f.fits else f"so needs {fig(float(f.gpus_needed), f'{q.hardware_name}s', p)}")
                 for f in need]
        out.append(f"Memory, against {fig(need[0].gpu_memory_gb, 'GB', Provenance(kind='published', source=q.hardware_name + ' datasheet'))} "
                   f"per {q.hardware_name}: " + "; ".join(words) + ".")
    util = [r for r in bundle.rows(m, measured=True) if r.n_tokens in ns and r.bandwidth_utilisation]
    if util:
        p = util[0].step_provenance
        out.append(f"Measured bandwidth utilisation of the {_name(bundle, m)} step: "
                   + " and ".join(f"{num(100 * r.bandwidth_utilisation, 3)}% {p.tag()} at N={r.n_tokens}" for r in util)
                   + " of the measured copy bandwidth.")
    return " ".join(out)


def validation_section(bundle: EvidenceBundle) -> str:
    if not bundle.validation:
        return "No published unique-expert counts were available for the swept models (conf/validation/unique_experts.yaml)."
    rows = [[v.model, v.n_tokens, cell_safe(v.setting), f"{num(v.published, 3)} [published]", f"{num(v.modelled, 3)} [modelled]",
             f"{v.error_pct:+.1f}%", "**yes (fitted)**" if v.used_for_fit else "no (out of sample)", cell_safe(v.citation)]
            for v in bundle.validation]
    return ("Published unique routed experts per MoE layer per forward against the calibrated routing model at the same block "
            "size (the model routes B tokens together, with the sweep's fitted concentration, seed and steps). The point used "
            "for fitting is marked; the others are out-of-sample checks.\n\n"
            + _table(["model", "block B", "setting", "published", "modelled", "error", "used for fitting", "citation"], rows))


def cell_safe(text: object) -> str:
    return str(text).replace("|", "/").replace("\n", " ")


def sensitivity_section(bundle: EvidenceBundle) -> str:
    if not bundle.sensitivity:
        return "No sensitivity band: the sweep has no calibrated points at N ≥ 32 for the question's models."
    rows = []
    for s in bundle.sensitivity:
        h = s.hypotheses
        rows.append([s.model, s.n_tokens, cell_safe(s.hardware), num(h.get("one block of N"), 4), num(h.get("blocks of 32"), 4),
                     num(h.get("iid"), 4), f"{num(s.experts_low, 4)}–{num(s.experts_high, 4)}",
                     f"{num(s.step_ms_low, 4)}–{num(s.step_ms_high, 4)}", f"{num(s.per_token_ms_low, 3)}–{num(s.per_token_ms_high, 3)}",
                     s.provenance])
    text = ("At each N, unique experts per MoE layer under three routing hypotheses [modelled: calibrated routing]: one block "
            "of N tokens (the calibrated router at N; the central value), ⌈N/32⌉ independent blocks of 32 "
            "(E(1−(1−U₃₂/E)^⌈N/32⌉) with the router's count U₃₂ at block 32), and i.i.d. routing E(1−(1−k/E)^N) as the upper "
            "bound. The band (first two) is carried through the byte model to the step time (the extra bytes move at the "
            "point's own effective rate) and to the latency per committed token (with the decoding range).\n\n"
            + _table(["model", "N", "hardware", "one block of N", "blocks of 32", "i.i.d. bound", "experts band",
                      "step ms band", "ms per committed token", "class"], rows))
    growth = _growth_sentence(bundle)
    return text + ("\n\n" + growth if growth else "")


def _growth_sentence(bundle: EvidenceBundle) -> str:
    ns = sorted(bundle.asked.parallel_tokens)
    if len(ns) < 2:
        return ""
    out = []
    for m in bundle.asked.models:
        a = next((s for s in bundle.sensitivity if s.model == m and s.n_tokens == ns[0]), None)
        b = next((s for s in bundle.sensitivity if s.model == m and s.n_tokens == ns[-1]), None)
        if a and b:
            f = {h: b.hypotheses[h] / a.hypotheses[h] for h in a.hypotheses if a.hypotheses.get(h) and h in b.hypotheses}
            out.append(f"{_name(bundle, m)}: " + ", ".join(f"×{num(v, 3)} ({h})" for h, v in f.items()))
    if not out:
        return ""
    return f"Growth of unique experts from N={ns[0]} to N={ns[-1]} under each hypothesis [modelled: {ROUTING_SOURCE}]: " + "; ".join(out) + "."


def token_latency_section(bundle: EvidenceBundle) -> str:
    if not bundle.token_latency:
        return "No per-token latency: the decoding setup publishes no tokens per step, or no step time was available."
    rows = [[t.model, t.n_tokens, cell_safe(t.hardware), num(t.step_ms, 4),
             f"{num(t.tokens_per_step, 3)} ({num(t.tokens_per_step_low, 3)}–{num(t.tokens_per_step_high, 3)})",
             cell_safe(t.decoding), f"{num(t.per_token_ms, 4)} ({num(t.per_token_ms_low, 4)}–{num(t.per_token_ms_high, 4)})",
             f"{num(1e3 / t.per_token_ms_high if t.per_token_ms_high else None, 4)}–{num(1e3 / t.per_token_ms_low if t.per_token_ms_low else None, 4)}",
             prov(t.provenance).tag()] for t in bundle.token_latency]
    return ("Latency per committed token = step time ÷ tokens committed per step. A diffusion step of N parallel tokens commits "
            "the published tokens per forward of the LLaDA2.0 setups in conf/decoding (range across them; holding it fixed "
            "across N is an assumption); the dense baseline decodes autoregressively, one token per step at N=1, and is never "
            "credited with more. Tokens/s is the inverse.\n\n"
            + _table(["model", "N", "hardware", "step ms", "tokens per step (range)", "decoding setups",
                      "ms per committed token (range)", "tokens/s (range)", "class: source"], rows))


def feasibility_section(bundle: EvidenceBundle) -> str:
    if not bundle.feasibility:
        return "No feasibility check (no model specs)."
    rows = [[f.model, f.hardware, num(f.weights_gb, 4), num(f.kv_cache_gb, 3), num(f.gpu_memory_gb, 4),
             "yes" if f.fits else "**no**", f.gpus_needed, f.parallelism] for f in bundle.feasibility]
    return ("Weights (bf16) plus the KV cache of one sequence (prefix + the largest asked N) against each GPU's memory "
            f"[modelled: {FEAS_SOURCE}]. A model that does not fit needs the smallest GPU count that holds it and divides its "
            "attention heads (tensor parallel) and, for MoE, its routed experts (expert parallel); its step time on that "
            "count is projected as one-GPU time ÷ count, ignoring communication (a lower bound), and labelled with that rule.\n\n"
            + _table(["model", "GPU", "weights GB", "KV cache GB", "GPU memory GB", "fits on one", "GPUs needed", "parallelism"], rows))


_ARXIV = re.compile(r"\b(\d{4}\.\d{4,5})\b")


def source_references(bundle: EvidenceBundle) -> list[str]:
    """The papers our model specs, decoding setups and validation points come from (conf/ data, each with its arXiv id),
    minus those already among the kept papers: '- arXiv id: authors, title (year). <link>'."""
    from tasks.moe.specs import load_model_spec
    from tasks.moe.step_model import load_decoding_setup

    models = sorted({r.model for r in bundle.rows()} | {t.model for t in bundle.token_latency})
    entries: dict[str, str] = {}
    decodings = {d.strip() for t in bundle.token_latency for d in t.decoding.split(",") if d.strip()}
    for m in models:
        try:
            spec = load_model_spec(m)
        except ValueError:
            continue
        paper = spec.sources.get("paper", "")
        if (hit := _ARXIV.search(paper)):
            entries.setdefault(hit.group(1), paper)
        if getattr(spec, "decoding", None):
            decodings.add(spec.decoding)
    for d in sorted(decodings):
        try:
            src = load_decoding_setup(d).source
        except ValueError:
            continue
        for pid in _ARXIV.findall(src):
            entries.setdefault(pid, f"arXiv {pid}: {src}")
    if bundle.validation:
        from tasks.moe.validation import load_reference

        ref = load_reference()
        if ref and (hit := _ARXIV.search(ref)):
            entries.setdefault(hit.group(1), ref)
    kept = {p.arxiv_id for p in bundle.papers}
    return [f"- {cell_safe(text)}. <https://arxiv.org/abs/{pid}>" for pid, text in entries.items() if pid not in kept]


_CLOSING = {"conclusion", "discussion", "harness_efficiency", "limitations", "roof_source"}


def __getattr__(name: str):
    """``flagship.limitations`` and the other closing sections live in tasks/report/closing.py (which imports this
    module's helpers, so it is imported on first use, not at load)."""
    if name in _CLOSING:
        from tasks.report import closing

        return getattr(closing, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
