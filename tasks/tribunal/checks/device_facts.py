"""A bandwidth the prose gives a GPU or an interconnect agrees with its datasheet.

"PCIe 4.0 x16 moves about 900 GB/s" (it moves about 32 GB/s) makes offloading look free; "the H100's 8 TB/s" makes a
memory-bound step look cheap. Each bandwidth figure (GB/s, TB/s) in the draft's own prose is read against the device
named nearest before it in its sentence: a GPU of conf/hardware (its HBM bandwidth) or a link of
conf/tribunal/quantities.yaml ``links`` (published PCIe and NVLink figures). A figure outside the slack around the
datasheet (``bandwidth_slack``: both directions of a link, a PCIe card or an older SKU) is a critical finding.
"""

from __future__ import annotations

import re
from functools import lru_cache

from tasks.tribunal.checks.base import CheckContext, CheckResult, Finding, not_applicable, register, result
from tasks.tribunal.checks.bounds import quantities
from tasks.tribunal.checks.lexicon import CONF, conf_yaml
from tasks.tribunal.checks.prose import sentences

SECTIONS = ("Abstract", "Introduction", "Results", "Discussion", "Limitations", "Conclusion")
MORE = re.compile(r"\b(more|higher|greater|larger|less|lower|smaller)\s+(?:memory\s+|HBM\s+)?bandwidth\s+than\b"
                  r"|\b(faster|slower)\s+than\b", re.I)
MEMORY = re.compile(r"\bHBM|\bmemory\b|bandwidth", re.I)
RATE = re.compile(r"(\d+(?:\.\d+)?)\s*(TB/s|GB/s|MB/s)\b")
TO_GB = {"TB/s": 1000.0, "GB/s": 1.0, "MB/s": 0.001}


@lru_cache(maxsize=1)
def devices() -> list[tuple[str, re.Pattern, float]]:
    """(name, pattern, GB/s) for every GPU of conf/hardware with an HBM bandwidth and every link of the lexicon."""
    out = []
    for path in sorted((CONF / "hardware").glob("*.yaml")):
        spec = conf_yaml("hardware", path.stem)
        name = str(spec.get("display_name", "")).split("(")[0].strip()
        chip = name.split()[0] if name else ""
        if isinstance(spec.get("hbm_bandwidth_bytes_s"), (int, float)) and re.fullmatch(r"[A-Z]+\d+\w*", chip):
            out.append((name, re.compile(rf"\b{re.escape(chip)}\b"), float(spec["hbm_bandwidth_bytes_s"]) / 1e9))
    for name, link in (quantities().get("links") or {}).items():
        out.append((name, re.compile(link["pattern"], re.I), float(link["gbs"])))
    return out


@register("device_facts", "skeptic", "do the bandwidths the prose gives a GPU or a link agree with its datasheet?")
def device_facts(ctx: CheckContext) -> CheckResult:
    if ctx.report is None:
        return not_applicable("device_facts", "no report text")
    low, high = (quantities().get("bandwidth_slack") or [0.4, 2.2])[:2]
    findings, checked = [], 0
    for section, s in sentences(ctx.report, SECTIONS, cited=False):
        for m in RATE.finditer(s):
            named = [(d.end(), name, gbs) for name, pat, gbs in devices() for d in pat.finditer(s[:m.start()])]
            if not named:
                continue
            _end, name, gbs = max(named)  # the device named nearest before the figure
            stated = float(m.group(1)) * TO_GB[m.group(2)]
            checked += 1
            if not low <= stated / gbs <= high:
                findings.append(Finding(kind="device_fact_wrong", where=section,
                                        message=f"'{m.group(0)}' for {name}, whose datasheet gives about {gbs:g} GB/s: "
                                                f"\"{s[:130]}\""))
        findings += _ordering(section, s)
    return result("device_facts", findings[:4], f"{checked} bandwidth figures read against datasheets")


def _ordering(section: str, s: str) -> list[Finding]:
    """'A has more bandwidth than B': the datasheets of the GPUs named before and after the comparison agree."""
    gpus = [(name, pat, gbs) for name, pat, gbs in devices() if not name.startswith(("PCIe", "NVLink"))]
    out = []
    for m in MORE.finditer(s):
        before = [(d.end(), name, gbs) for name, pat, gbs in gpus for d in pat.finditer(s[:m.start()])]
        after = [(d.start(), name, gbs) for name, pat, gbs in gpus for d in pat.finditer(s, m.end())]
        if not before or not after:
            continue
        (_, a, ga), (_, b, gb) = max(before), min(after)
        word = (m.group(1) or m.group(2)).lower()
        if m.group(2) and not MEMORY.search(s):  # 'faster' compares bandwidth only in a sentence about memory
            continue
        more = word in ("more", "higher", "greater", "larger", "faster")
        if a != b and (ga > gb) != more:
            out.append(Finding(kind="device_fact_wrong", where=section,
                               message=f"says {a} has {word} memory bandwidth than {b}, but the datasheets give "
                                       f"{ga:g} and {gb:g} GB/s: \"{s[:130]}\""))
    return out
