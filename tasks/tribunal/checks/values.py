"""Every number the evidence bundle holds, with its provenance class: what a reported number may trace to.

Per-quantity provenance (issue 12): a measured row's step time is ``measured``, its unique experts
``modelled`` (synthetic router); ``h100_projected_ms`` is ``projected``. Rows written before that
field existed fall back to the same rule. Counts (papers, claims) are ``count``: any label fits them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tasks.tribunal.bundle import EvidenceBundle, SweepRow

# Claim quantities in base units (tasks/claims/numbers.py) and the unit a report writes them in.
BASE_UNITS = {"B": (1e9, "GB"), "B/s": (1e12, "TB/s")}
# Classes a tag may carry for a value of each class: modelled and projected are both "not measured, not published".
COMPATIBLE = {"measured": {"measured"}, "published": {"published"}, "modelled": {"modelled", "projected"},
              "projected": {"projected", "modelled"}}


@dataclass(frozen=True)
class Value:
    value: float
    kind: str
    what: str
    unit: str = ""  # "ms", "%", "GB", "TB/s" or "" (anything else)
    field: str = ""  # the bundle field, for sweep rows (e.g. "step_ms")
    model: str = ""
    n_tokens: int = 0
    source: str = ""  # where a published value comes from (a citation with its arXiv id), when the bundle says


def _kind(text: str | None, default: str) -> str:
    head = (text or "").split(":", 1)[0].strip().lower()
    return {"measured": "measured", "modelled": "modelled", "published": "published", "projected": "projected"}.get(head, default)


def _row_values(r: SweepRow) -> list[Value]:
    out: list[Value] = []
    label = f"{r.label} on {r.hardware}"
    time_kind = _kind(getattr(r, "time_provenance", None), "measured" if r.measured else "modelled")
    experts_kind = _kind(getattr(r, "experts_provenance", None), "modelled")
    fields = {"unique_experts_mean": experts_kind, "unique_experts_p90": experts_kind, "activated_fraction": experts_kind,
              "bytes_per_step": "modelled", "step_ms": time_kind, "bandwidth_utilisation": time_kind,
              "tokens_per_s": time_kind, "timing_spread": "measured", "h100_projected_ms": "projected"}
    for name, kind in fields.items():
        v = getattr(r, name, None)
        if v is None:
            continue
        out.append(Value(float(v), kind, f"{name} {label}", "ms" if name.endswith("_ms") else "", name, r.model, r.n_tokens))
        if name in ("activated_fraction", "bandwidth_utilisation", "timing_spread"):
            out.append(Value(100 * float(v), kind, f"{name} {label} (%)", "%"))
        if name == "bytes_per_step":
            out.append(Value(float(v) / 1e9, kind, f"GB per step {label}", "GB"))
    for name in ("num_experts", "top_k"):
        if getattr(r, name, None):
            out.append(Value(float(getattr(r, name)), "published", f"{name} of {r.model}"))
    return out


def _datasheets() -> list[Value]:
    """GPU datasheet figures (conf/hardware): memory in GB, bandwidth in TB/s, bf16 TFLOP/s, all published."""
    from tasks.tribunal.checks.lexicon import CONF, conf_yaml

    out = []
    for path in sorted((CONF / "hardware").glob("*.yaml")):
        spec = conf_yaml("hardware", path.stem)
        for key, scale, unit in (("memory_bytes", 1e9, "GB"), ("hbm_bandwidth_bytes_s", 1e12, "TB/s"), ("bf16_flops", 1e12, "TFLOP/s")):
            if isinstance(spec.get(key), (int, float)):
                out.append(Value(float(spec[key]) / scale, "published", f"{path.stem} {unit} (datasheet)",
                                 unit if unit in ("GB", "TB/s") else ""))
    return out


def _split_rooflines(bundle: EvidenceBundle) -> list[Value]:
    """A step measured on k GPUs is set against the one-GPU datasheet roofline / k (ideal split; the report's harness
    efficiency): those derived times are modelled values of the run too."""
    from tasks.gpu.results import gpus_in_name
    from tasks.tribunal.bundle import hardware_family

    out = []
    for r in bundle.rows(measured=True):
        if (k := gpus_in_name(r.hardware)) > 1:
            fam = hardware_family(r.hardware)
            out += [Value(x.step_ms / k, "modelled", f"roofline / {k} GPUs {x.label} on {x.hardware}", "ms", "roofline_split",
                          x.model, x.n_tokens)
                    for x in bundle.rows(r.model, r.n_tokens, measured=False) if hardware_family(x.hardware) == fam and x.step_ms]
    return out


def bundle_values(bundle: EvidenceBundle) -> list[Value]:
    """All numbers of ``bundle`` with their class (see module docstring)."""
    from tasks.tribunal.checks.lexicon import conf_yaml

    vals: list[Value] = []
    for r in bundle.rows():
        vals += _row_values(r)
    vals += _split_rooflines(bundle)
    for g in bundle.growth:
        for name in ("n0", "r2", "p", "slope_small_n", "mix_n0", "mix_beta", "mix_r2"):
            if getattr(g, name, None) is not None:
                vals.append(Value(float(getattr(g, name)), "modelled", f"growth {name} {g.model}"))
    for t in bundle.token_latency:
        k = _kind(t.provenance, "modelled")
        for name in ("step_ms", "per_token_ms", "per_token_ms_low", "per_token_ms_high", "tokens_per_s"):
            if getattr(t, name) is not None:
                vals.append(Value(float(getattr(t, name)), k, f"{name} {t.model} N={t.n_tokens} on {t.hardware}",
                                  "ms" if "_ms" in name else ""))
        cited = "; ".join(str(conf_yaml("decoding", k.strip()).get("source", "")) for k in t.decoding.split(","))
        for name in ("tokens_per_step", "tokens_per_step_low", "tokens_per_step_high"):
            if getattr(t, name) is not None:
                vals.append(Value(float(getattr(t, name)), "published", f"{name} ({t.decoding})", source=cited))
    for t in getattr(bundle, "two_gpu", []):  # sharded steps (issue 17): timed, shares of the timed step
        vals.append(Value(t.step_ms, "measured", f"step ms {t.model} N={t.n_tokens} {t.engine} on {t.hardware}"))
        vals += [Value(100 * float(v), "measured", f"{name} % {t.model} N={t.n_tokens} {t.engine}")
                 for name, v in (("a2a_share", t.a2a_share), ("comm_share", t.comm_share), ("roofline", t.roofline_ratio)) if v]
    for s in bundle.sensitivity:
        k = _kind(s.provenance, "modelled")
        for name in ("experts_central", "experts_low", "experts_high", "step_ms_central", "step_ms_low", "step_ms_high",
                     "per_token_ms_low", "per_token_ms_high"):
            if getattr(s, name) is not None:
                vals.append(Value(float(getattr(s, name)), "modelled" if name.startswith("experts") else k,
                                  f"sensitivity {name} {s.model} N={s.n_tokens}", "ms" if "_ms" in name else ""))
        vals += [Value(float(v), "modelled", f"sensitivity {h} {s.model} N={s.n_tokens}") for h, v in s.hypotheses.items()]
    for v in bundle.validation:
        vals += [Value(v.published, "published", f"published {v.model} {v.setting} ({v.citation})", source=v.citation),
                 Value(v.modelled, "modelled", f"modelled {v.model} {v.setting}"),
                 Value(abs(v.error_pct), "modelled", f"error % {v.model} {v.setting}", "%")]
    for f in bundle.feasibility:
        vals += [Value(f.weights_gb, "modelled", f"weights GB {f.model}", "GB"), Value(f.kv_cache_gb, "modelled", f"KV GB {f.model}", "GB"),
                 Value(f.weights_gb + f.kv_cache_gb, "modelled", f"weights+KV GB {f.model}", "GB"),
                 Value(f.gpu_memory_gb, "published", f"memory GB {f.hardware}", "GB"),
                 Value(float(f.gpus_needed), "modelled", f"GPUs needed {f.model} on {f.hardware}")]
    for c in bundle.claims:
        v = c.verdict
        if v is not None and v.our_value is not None:
            vals.append(Value(float(v.our_value), "measured" if v.source == "measured" else "modelled", f"claim {c.claim.claim_id}"))
        for q in c.claim.numbers:
            for x in (getattr(q, "value", None), getattr(q, "high", None)):
                if x is not None:
                    unit = getattr(q, "unit", "") or ""
                    pct = unit == "%"
                    vals.append(Value(float(x) * (100 if pct else 1), "published", f"claim {c.claim.claim_id} number",
                                      "%" if pct else "", source=c.source_id or ""))
                    if unit in BASE_UNITS:  # a size or a bandwidth in bytes: also in the report's GB or TB/s
                        scale, shown = BASE_UNITS[unit]
                        vals.append(Value(float(x) / scale, "published", f"claim {c.claim.claim_id} number ({shown})", shown,
                                          source=c.source_id or ""))
    vals += _datasheets()
    labels = [c.label for c in bundle.claims]
    counts = [bundle.papers_kept, bundle.papers_retrieved, len(bundle.claims)] + [labels.count(x) for x in set(labels)]
    from tasks.tribunal.checks.claims import independent  # the report's claim counts: corroborated vs own paper only

    corroborated = sum(independent(c) for c in bundle.claims)
    counts += [corroborated, labels.count("SUPPORTED") - corroborated]
    counts += [len({c.source_id for c in bundle.claims if c.label == lab}) for lab in set(labels)]  # "from 16 papers"
    counts.append(len({c.source_id for c in bundle.claims}))
    vals += [Value(float(n), "count", "count") for n in counts]
    asked = getattr(bundle.question, "structured", None)
    vals += [Value(float(n), "count", "asked N") for n in (getattr(asked, "parallel_tokens", None) or [])]
    return vals


def matches(printed: float, decimals: int, value: float, rel_tol: float) -> bool:
    """Does ``value`` round to the ``printed`` number (half a unit of its last digit, or ``rel_tol`` relative)?"""
    if not math.isfinite(value):
        return False
    tol = max(0.5 * 10 ** (-decimals) * 1.001, rel_tol * abs(printed))
    return abs(value - printed) <= tol


def trace(printed: float, decimals: int, values: list[Value], rel_tol: float, unit: str = "") -> list[Value]:
    """The bundle values the printed number may stand for, in its unit.

    ``unit``: '%' matches percentages only; 'µs' matches millisecond values x 1000; 'ms' matches times (or unitless
    values); 'GB' and 'TB/s' match memory sizes and bandwidths only; anything else matches every value that is not a
    percentage.
    """
    if unit == "%":
        pool = [v for v in values if v.unit == "%"]
    elif unit in ("GB", "TB/s"):
        pool = [v for v in values if v.unit == unit]
    elif unit == "µs":
        return [v for v in values if v.unit == "ms" and matches(printed, decimals, 1000 * v.value, rel_tol)]
    elif unit == "ms":
        pool = [v for v in values if v.unit in ("ms", "")]  # not a GB or TB/s value
    else:
        pool = [v for v in values if v.unit != "%"]
    return [v for v in pool if matches(printed, decimals, v.value, rel_tol)]
