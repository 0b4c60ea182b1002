"""SYNTHESIZER: the answer in a few sentences with numbers, and the merged list of revisions."""

from __future__ import annotations

import re

from tasks.moe.stats import iid_expected_unique
from tasks.tribunal.bundle import EvidenceBundle, SweepRow
from tasks.tribunal.common import asked_models_present, num, rubric_score
from tasks.tribunal.records import Revision, RubricItem, Ruling
from tasks.tribunal.settings import TribunalSettings


def _name(bundle: EvidenceBundle, model: str) -> str:
    asked = bundle.asked
    if model in asked.models and len(asked.model_names) == len(asked.models):
        return asked.model_names[asked.models.index(model)]
    return asked.baseline_name if model == asked.baseline else model


def _source_words(rows: list[SweepRow]) -> str:
    measured = sorted({r.source.removeprefix("measured:") for r in rows if r.measured})
    if not measured:
        return "roofline projections from datasheet ceilings, not measurements"
    if len(measured) == len(rows) or all(r.measured for r in rows):
        return f"measured on {', '.join(measured)}"
    return f"partly measured on {', '.join(measured)}, the rest projected"


def compose_answer(bundle: EvidenceBundle) -> tuple[str, dict[str, bool]]:
    """The answer in a few sentences, built from the bundle's numbers only.

    Returns:
        (answer text, which question parts it could answer with numbers).
    """
    asked = bundle.asked
    n_lo, n_hi = sorted(asked.parallel_tokens)[0], sorted(asked.parallel_tokens)[-1]
    models = asked_models_present(bundle)
    parts = {"scaling": False, "tokens": False, "latency": False, "bandwidth": False, "baseline": False}
    if not models:
        return (f"The sweep has no points for {', '.join(asked.model_names)}, so the question is not answered with numbers.", parts)
    sentences, cited = [], []
    m = models[0]
    lo, hi = bundle.best_row(m, n_lo), bundle.best_row(m, n_hi)
    if lo and hi and lo.unique_experts_mean is not None and hi.unique_experts_mean is not None:
        parts["scaling"] = parts["tokens"] = True
        s = (f"For {_name(bundle, m)} ({lo.routing} routing, {lo.source}) the number of distinct experts per MoE layer per step grows from "
             f"{num(lo.unique_experts_mean)} at N={n_lo} to {num(hi.unique_experts_mean)} at N={n_hi} "
             f"(×{num(hi.unique_experts_mean / lo.unique_experts_mean, 3)}) of E={hi.num_experts}")
        if hi.num_experts and hi.top_k:
            s += (f", below the i.i.d. closed form {num(iid_expected_unique(hi.num_experts, hi.top_k, n_lo))} and "
                  f"{num(iid_expected_unique(hi.num_experts, hi.top_k, n_hi))}")
        sentences.append(s + ".")
    others = []
    for other in models[1:]:
        a, b = bundle.best_row(other, n_lo), bundle.best_row(other, n_hi)
        if a and b and a.unique_experts_mean is not None and b.unique_experts_mean is not None:
            tag = "" if lo is not None and a.source == lo.source else f" ({a.source})"
            others.append(f"{_name(bundle, other)} {num(a.unique_experts_mean)} → {num(b.unique_experts_mean)} of E={b.num_experts}{tag}")
    if others:
        sentences.append(f"Likewise: {'; '.join(others)}.")
    m_lo, m_hi = (next(iter(bundle.rows(m, n, measured=True)), None) for n in (n_lo, n_hi))
    b_lo, b_hi = (next(iter(bundle.rows(asked.baseline, n, measured=True)), None) for n in (n_lo, n_hi))
    if m_lo and m_hi and m_lo.step_ms and m_hi.step_ms:
        parts["latency"] = True
        s = f"Measured on {m_lo.hardware}, one decoding step of {_name(bundle, m)} takes {num(m_lo.step_ms)} ms at N={n_lo} and {num(m_hi.step_ms)} ms at N={n_hi}"
        if m_lo.bandwidth_utilisation is not None and m_hi.bandwidth_utilisation is not None:
            parts["bandwidth"] = True
            s += (f", moving bytes at {num(100 * m_lo.bandwidth_utilisation, 3)}% and {num(100 * m_hi.bandwidth_utilisation, 3)}% "
                  "of the measured copy bandwidth")
        sentences.append(s + ".")
        cited += [m_lo, m_hi]
        if b_lo and b_hi and b_lo.step_ms and b_hi.step_ms:
            parts["baseline"] = True
            s = (f"The dense {asked.baseline_name} on the same harness takes {num(b_lo.step_ms)} ms and {num(b_hi.step_ms)} ms"
                 f" (×{num(m_lo.step_ms / b_lo.step_ms, 3)} and ×{num(m_hi.step_ms / b_hi.step_ms, 3)} for the MoE step)")
            if b_lo.bandwidth_utilisation is not None and b_hi.bandwidth_utilisation is not None:
                s += f" at {num(100 * b_lo.bandwidth_utilisation, 3)}% and {num(100 * b_hi.bandwidth_utilisation, 3)}% of copy bandwidth"
            sentences.append(s + ".")
            cited += [b_lo, b_hi]
        if m_lo.h100_projected_ms and m_hi.h100_projected_ms:
            s = (f"Projected to {asked.hardware_name} by bandwidth scaling (a projection, not a measurement): "
                 f"{num(m_lo.h100_projected_ms)} ms and {num(m_hi.h100_projected_ms)} ms")
            if b_lo and b_hi and b_lo.h100_projected_ms and b_hi.h100_projected_ms:
                s += f", against {num(b_lo.h100_projected_ms)} ms and {num(b_hi.h100_projected_ms)} ms for {asked.baseline_name}"
            sentences.append(s + ".")
    lo, hi = bundle.best_row(m, n_lo, asked.hardware), bundle.best_row(m, n_hi, asked.hardware)
    if lo and hi and lo.step_ms is not None and hi.step_ms is not None and not lo.measured:
        parts["latency"] = True
        r_lo, r_hi = bundle.best_row(asked.baseline, n_lo, asked.hardware), bundle.best_row(asked.baseline, n_hi, asked.hardware)
        s = (f"The datasheet roofline on {asked.hardware_name} (bytes / HBM bandwidth, a lower bound that assumes 100% bandwidth) "
             f"gives {num(lo.step_ms)} ms at N={n_lo} and {num(hi.step_ms)} ms at N={n_hi} ({lo.bound or 'memory'}-bound)")
        if r_lo and r_hi and r_lo.step_ms and r_hi.step_ms:
            parts["baseline"] = True
            s += (f", against {num(r_lo.step_ms)} ms and {num(r_hi.step_ms)} ms for {asked.baseline_name} "
                  f"(×{num(lo.step_ms / r_lo.step_ms, 3)} and ×{num(hi.step_ms / r_hi.step_ms, 3)})")
        sentences.append(s + ".")
        if not cited:
            cited += [lo, hi]
    if cited:
        sentences.append(f"Timings cited above are {_source_words(cited)}.")
    return " ".join(sentences), parts


def merge_revisions(rulings: list[Ruling]) -> list[Revision]:
    """The SYNTHESIZER's merged revision list: every role's revisions, duplicates removed, automatable first."""
    seen, merged = set(), []
    for ruling in rulings:
        for rev in ruling.revisions:
            if rev.key not in seen:
                seen.add(rev.key)
                merged.append(rev)
    return sorted(merged, key=lambda r: not r.automatable)


def synthesizer_ruling(bundle: EvidenceBundle, settings: TribunalSettings) -> Ruling:
    """Write the answer and judge how completely it answers the question.

    Args:
        bundle: the evidence bundle (draft state).
        settings: max_answer_sentences.
    Returns:
        The SYNTHESIZER's Ruling (``answer`` set).
    """
    if not bundle.rows() or bundle.asked is None:  # nothing measured or modelled: judged as a literature review
        from tasks.tribunal.literature import synthesizer_literature

        return synthesizer_literature(bundle, settings)
    answer, parts = compose_answer(bundle)
    labels = {"scaling": "how unique experts scale with N", "tokens": "64 vs 128 parallel tokens", "latency": "step latency",
              "bandwidth": "bandwidth utilisation", "baseline": f"the {bundle.asked.baseline_name} comparison"}
    items = [RubricItem(key=f"answer_{k}", question=f"does the answer give a number for {labels[k]}?", passed=v,
                        evidence="stated in the answer" if v else "no number available", weight=1.0) for k, v in parts.items()]
    sentences = len(re.findall(r"[.!?](\s|$)", answer))
    items.append(RubricItem(key="answer_concise", question=f"is the answer at most {settings.max_answer_sentences} sentences?",
                            passed=sentences <= settings.max_answer_sentences, weight=0.5, evidence=f"{sentences} sentences"))
    labelled = ("projection" in answer) or ("measured" in answer.lower())
    items.append(RubricItem(key="answer_labels_source", question="does the answer say whether its numbers are measured or projected?",
                            passed=labelled, weight=1.0, evidence="yes" if labelled else "no source stated"))
    has_uncertainties = bool(bundle.uncertainties)
    # recorded, not credited: stating uncertainties is expected, it does not make the answer better (weight 0)
    items.append(RubricItem(key="uncertainties_stated", question="does the draft carry an uncertainty section?",
                            passed=has_uncertainties, weight=0.0, evidence=f"{len(bundle.uncertainties)} statements"))
    findings = [f"the answer lacks a number for {labels[k]}" for k, v in parts.items() if not v]
    revisions = []
    if not has_uncertainties:
        revisions.append(Revision(kind="add_uncertainty", topic="other", raised_by="synthesizer",
                                  statement="This is an autonomous draft; its numbers have not been reviewed by the owner.",
                                  text="add an uncertainty section"))
    return Ruling(role="synthesizer", score=rubric_score(items), items=items, findings=findings, revisions=revisions, answer=answer)
