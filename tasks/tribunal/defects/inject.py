"""Inject one defect into a finished run (its report.md text and its evidence bundle), one kind at a time.

Each injector returns ``(report_md, bundle, what)`` with the defect in, or None when the run has
nothing to inject it into (e.g. no conclusion to contradict). ``EXPECTED[kind]`` names the finding
kinds that count as detecting it. Injectors read the run generically (sections by title, tags by
TAG_RE, numbers traced to the bundle); they are not written against one report's wording.
"""

from __future__ import annotations

import re
from typing import Callable, Optional

from tasks.tribunal.bundle import EvidenceBundle, hardware_family
from tasks.tribunal.checks.citations import required_papers
from tasks.tribunal.checks.base import CheckContext
from tasks.tribunal.checks.report_text import HEADING_RE, numbers
from tasks.tribunal.checks.values import bundle_values, trace
from tasks.provenance import TAG_RE

Injected = Optional[tuple[str, EvidenceBundle, str]]
Injector = Callable[[str, EvidenceBundle], Injected]
INJECTORS: dict[str, Injector] = {}
EXPECTED: dict[str, set[str]] = {}


def injector(kind: str, *expected: str):
    def wrap(fn: Injector) -> Injector:
        INJECTORS[kind], EXPECTED[kind] = fn, set(expected)
        return fn
    return wrap


def section_span(md: str, title: str) -> tuple[int, int] | None:
    """(start, end) of the section whose heading starts with ``title`` (heading included), to the next heading of its level or above."""
    heads = list(HEADING_RE.finditer(md))
    for i, h in enumerate(heads):
        if h.group(2).lower().startswith(title.lower()):
            level = len(h.group(1))
            end = next((x.start() for x in heads[i + 1:] if len(x.group(1)) <= level), len(md))
            return h.start(), end
    return None


def body_span(md: str, title: str) -> tuple[int, int] | None:
    span = section_span(md, title)
    if span is None:
        return None
    head_end = md.index("\n", span[0]) + 1 if "\n" in md[span[0]:span[1]] else span[1]
    return head_end, span[1]


def _gpu(bundle: EvidenceBundle) -> str:
    return bundle.gpu_provenance.gpu if bundle.gpu_provenance else "NVIDIA H200"


def _traced(md: str, bundle: EvidenceBundle, sections=("Abstract", "Conclusion"), want=None):
    """(absolute start, Number, values) of the traced result numbers in ``sections``; ``want`` filters by value kinds."""
    values = bundle_values(bundle)
    for name in sections:
        span = body_span(md, name)
        if span is None:
            continue
        for n in numbers(md[span[0]:span[1]]):
            found = trace(n.value, n.decimals, values, 0.002)
            kinds = {v.kind for v in found}
            if n.ratio or not found or "count" in kinds or (want and not kinds <= want):
                continue
            yield span[0] + n.start, n, found


def _set_tag(md: str, start: int, n, tag: str) -> str:
    """Give the number at ``start`` the tag ``tag``: replace its own tag, or insert one right after the number and its unit."""
    end = start + len(n.text) + (1 if n.percent else 0)
    unit = re.match(r"\s*(?:ms|GB|experts?|tokens/s|%)?", md[end:])
    pos = end + (unit.end() if unit else 0)
    nxt = TAG_RE.match(md, pos + 1) or TAG_RE.match(md, pos)
    if nxt:
        return md[:nxt.start()] + tag + md[nxt.end():]
    return md[:pos] + f" {tag}" + md[pos:]


@injector("modelled_as_measured", "provenance_mismatch")
def modelled_as_measured(md: str, b: EvidenceBundle) -> Injected:
    for start, n, _found in _traced(md, b, want={"modelled"}):
        return _set_tag(md, start, n, f"[measured: {_gpu(b)}]"), b, f"'{n.text}' (modelled) relabelled measured"
    return None


@injector("projection_as_measurement", "provenance_mismatch", "projection_as_measurement")
def projection_as_measurement(md: str, b: EvidenceBundle) -> Injected:
    for start, n, found in _traced(md, b, want={"projected", "modelled"}):
        if any(v.kind == "projected" for v in found) or "projected" in str(n.tag):
            return _set_tag(md, start, n, f"[measured: {_gpu(b)}]"), b, f"'{n.text}' (projected) presented as measured"
    asked = getattr(b.question.structured, "hardware", None) if b.question else None
    rows = [r for r in b.sweep if not r.measured and not r.failed and hardware_family(r.hardware) == hardware_family(asked)]
    if not rows:
        return None
    target = rows[0]
    sweep = [r.model_copy(update={"source": f"measured:NVIDIA {hardware_family(asked).upper()}"}) if r is target else r for r in b.sweep]
    return md, b.model_copy(update={"sweep": sweep}), f"{target.label} on {target.hardware} marked measured"


@injector("abstract_number_2x", "untraced_number")
def abstract_number_2x(md: str, b: EvidenceBundle) -> Injected:
    for start, n, _found in _traced(md, b, sections=("Abstract",)):
        doubled = f"{2 * n.value:.{n.decimals}f}"
        return md[:start] + doubled + md[start + len(n.text):], b, f"abstract '{n.text}' -> '{doubled}'"
    return None


@injector("measured_without_provenance", "untagged_number")
def measured_without_provenance(md: str, b: EvidenceBundle) -> Injected:
    for start, n, _found in _traced(md, b):
        if n.tag and n.tag[0] == "measured":
            m = TAG_RE.search(md, start)
            return md[:m.start()].rstrip(" ") + md[m.end():], b, f"tag of measured '{n.text}' removed"
    return None


@injector("baseline_per_step", "baseline_credited_parallel_tokens", "step_vs_token", "no_per_token_comparison")
def baseline_per_step(md: str, b: EvidenceBundle) -> Injected:
    base = getattr(b.question.structured, "baseline", None)
    rows = [t for t in b.token_latency if t.model == base]
    moe = [t for t in b.token_latency if t.model != base]
    if not rows:
        return None
    credit = max((t.tokens_per_step for t in moe), default=2.0)
    new = [t.model_copy(update={"tokens_per_step": credit, "per_token_ms": t.step_ms / credit, "tokens_per_s": 1e3 * credit / t.step_ms})
           if t.model == base else t for t in b.token_latency]
    return md, b.model_copy(update={"token_latency": new}), f"{base} credited {credit:g} tokens per step"


@injector("infeasible_gpu", "infeasible_hardware")
def infeasible_gpu(md: str, b: EvidenceBundle) -> Injected:
    bad = [f for f in b.feasibility if not f.fits]
    if not bad:
        return None
    rows = [f.model_copy(update={"fits": True, "gpus_needed": 1, "parallelism": "none"}) if not f.fits else f for f in b.feasibility]
    return md, b.model_copy(update={"feasibility": rows}), f"{bad[0].model} reported on one {bad[0].hardware}"


@injector("validation_removed", "no_validation")
def validation_removed(md: str, b: EvidenceBundle) -> Injected:
    span = section_span(md, "Validation")
    if span is None and not b.validation:
        return None
    md2 = md[:span[0]] + md[span[1]:] if span else md
    return md2, b.model_copy(update={"validation": []}), "validation table and rows removed"


@injector("sensitivity_removed", "no_sensitivity_band")
def sensitivity_removed(md: str, b: EvidenceBundle) -> Injected:
    span = section_span(md, "Sensitivity")
    if span is None and not b.sensitivity:
        return None
    md2 = md[:span[0]] + md[span[1]:] if span else md
    return md2, b.model_copy(update={"sensitivity": []}), "sensitivity section and bands removed"


@injector("band_dropped_from_abstract", "no_sensitivity_band")
def band_dropped_from_abstract(md: str, b: EvidenceBundle) -> Injected:
    span = body_span(md, "Abstract")
    if span is None or not b.sensitivity:
        return None
    body = md[span[0]:span[1]]
    cut = re.sub(r"\s*\(?\s*(?:band\s*)?\d+(?:\.\d+)?\s*[–-]\s*\d+(?:\.\d+)?\s*\)?(?=[^\d])", "", body)
    if cut == body:
        return None
    return md[:span[0]] + cut + md[span[1]:], b, "ranges removed from the abstract"


@injector("contradicted_restored", "contradicted_claim_in_text")
def contradicted_restored(md: str, b: EvidenceBundle) -> Injected:
    claims = list(b.claims)
    idx = next((i for i, c in enumerate(claims) if c.label == "CONTRADICTED"), None)
    if idx is None:
        if not claims or claims[0].verdict is None:
            return None
        idx = 0
        claims[0] = claims[0].model_copy(update={"verdict": claims[0].verdict.model_copy(update={"label": "CONTRADICTED"})})
    claims[idx] = claims[idx].model_copy(update={"disposition": "stated"})
    span = body_span(md, "Conclusion") or body_span(md, "Discussion") or body_span(md, "Abstract")
    md2 = md[:span[1]].rstrip() + f"\n\n{claims[idx].claim.text}\n\n" + md[span[1]:] if span else md
    return md2, b.model_copy(update={"claims": claims}), f"{claims[idx].claim.claim_id} restored to the text"


@injector("citations_dropped", "missing_citation")
def citations_dropped(md: str, b: EvidenceBundle) -> Injected:
    need = required_papers(CheckContext(bundle=b))
    if not need:
        return None
    span = body_span(md, "References")
    if span is not None:
        refs = "".join(line for line in md[span[0]:span[1]].splitlines(keepends=True) if not any(pid in line for pid in need))
        md = md[:span[0]] + refs + md[span[1]:]
    papers = [p for p in b.papers if p.arxiv_id not in need]
    return md, b.model_copy(update={"papers": papers}), f"{len(need)} defining papers dropped"


@injector("self_supported_counted", "self_supported_claim")
def self_supported_counted(md: str, b: EvidenceBundle) -> Injected:
    claims = list(b.claims)
    idx = next((i for i, c in enumerate(claims) if c.verdict and not c.verdict.metric and c.claim.source_id), None)
    if idx is None:
        return None
    c = claims[idx]
    own = [e.model_copy(update={"is_claim_source": True, "paper_id": c.claim.source_id}) for e in c.verdict.evidence[:1]]
    verdict = c.verdict.model_copy(update={"label": "SUPPORTED", "evidence": own, "confidence": 0.9, "corroborated": True,
                                           "rationale": f"content coverage 1.00 ({c.claim.source_id}#0)"})
    claims[idx] = c.model_copy(update={"verdict": verdict, "disposition": "stated"})
    return md, b.model_copy(update={"claims": claims}), f"{c.claim.claim_id} supported by its own paper, stated as verified"


_FLIPS = (("faster than", "slower than"), ("slower than", "faster than"), ("lower latency", "higher latency"), ("ahead", "behind"),
          ("is real", "is absent"), ("grows", "stays constant"), ("grow ", "stay constant "), ("increases", "stays constant"))


@injector("conclusion_contradicts", "conclusion_contradicts_results")
def conclusion_contradicts(md: str, b: EvidenceBundle) -> Injected:
    span = body_span(md, "Conclusion")
    if span is None:
        return None
    body = md[span[0]:span[1]]
    for old, new in _FLIPS:
        if old in body:
            return md[:span[0]] + body.replace(old, new, 1) + md[span[1]:], b, f"conclusion: '{old}' -> '{new}'"
    return None


@injector("conclusion_removed", "no_conclusion")
def conclusion_removed(md: str, b: EvidenceBundle) -> Injected:
    span = section_span(md, "Conclusion")
    if span is None:
        return None
    return md[:span[0]] + md[span[1]:], b, "conclusion removed"


@injector("fabricated_reference", "unknown_reference")
def fabricated_reference(md: str, b: EvidenceBundle) -> Injected:
    span = body_span(md, "References")
    if span is None:
        return None
    known = {p.arxiv_id for p in b.papers}
    fake = next(f"{y}{m:02d}.{n:05d}" for y in (29, 28) for m in range(1, 13) for n in (99991, 99973)
                if f"{y}{m:02d}.{n:05d}" not in known)
    ref = f"\n99. A. Author. *A result no run retrieved*. arXiv:{fake} (2029). <https://arxiv.org/abs/{fake}>\n"
    return md[:span[1]].rstrip() + ref + md[span[1]:], b, f"reference arXiv {fake} added"
