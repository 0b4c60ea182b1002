"""The flagship records and report sections from the real config shrunk for CPU (issue 12): labels, units, feasibility, bands."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import yaml

from tasks.moe.sweep import run_point, sweep_points
from tasks.provenance import parse_tags
from tasks.report import flagship
from tasks.settings import PROJECT_ROOT, QuestionSettings
from tasks.tribunal.build import build_bundle

GPU = "NVIDIA H200"


def _measurement(step_ms: float, unique: float | None) -> SimpleNamespace:
    point = SimpleNamespace(step_ms=step_ms, unique_experts_mean=unique, unique_experts_p90=unique, bytes_moved=1e10,
                            util_copy=0.6, spread=0.01, h100_projected_ms=step_ms * 4.8 / 3.35)
    return SimpleNamespace(source=f"measured:{GPU}", point=point, provenance={"gpu_name": GPU, "driver": "d", "torch": "t",
                                                                               "date": "2026", "git_sha": "abc", "command": "c"})


@pytest.fixture(scope="module")
def bundle():
    q = QuestionSettings(**yaml.safe_load((PROJECT_ROOT / "conf/question/expert_explosion.yaml").read_text()))
    specs = sweep_points(["llada2_mini", "llama2_70b"], ["calibrated"], [1, 32, 64, 128], ("h100_sxm", "h200"), steps=4)
    measured = {("llada2_mini", 64): 5.0, ("llada2_mini", 128): 6.0, ("llama2_70b", 1): 36.5, ("llada2_mini", 1): 2.3}
    points = []
    for spec in specs:
        r = run_point(spec)
        ms = measured.get((r.model, r.n_tokens))
        m = _measurement(ms, r.stats.get("unique_mean")) if ms else None
        points.append(SimpleNamespace(projected=r, measurement=m, run_id=f"run-{r.model}-{r.n_tokens}"))
    return build_bundle(q, [], 0, ["snapshot"], sweep_points=points)


def test_each_quantity_carries_its_own_class(bundle):
    for r in bundle.rows():
        assert r.experts_prov.kind == "modelled"  # synthetic routing, even where the step time is measured
        assert r.step_provenance.kind == ("measured" if r.measured else "modelled")
        assert r.source in ("modelled",) or r.source.startswith("measured:")
    measured = bundle.rows("llada2_mini", 64, measured=True)[0]
    assert measured.step_provenance.tag() == f"[measured: {GPU}]" and measured.experts_prov.tag() == "[modelled: calibrated routing]"
    assert measured.projection_prov.kind == "projected" and "bandwidth" in measured.projection_prov.source


def test_latency_per_committed_token_and_the_baseline_decode(bundle):
    tl = {(t.model, t.n_tokens, t.hardware): t for t in bundle.token_latency}
    mini = tl[("llada2_mini", 64, GPU)]
    assert mini.per_token_ms == pytest.approx(5.0 / 2.55) and mini.per_token_ms_low == pytest.approx(5.0 / 3.31)
    assert mini.tokens_per_s == pytest.approx(1e3 / mini.per_token_ms) and mini.provenance == f"measured:{GPU}"
    base = tl[("llama2_70b", 1, GPU)]
    assert base.tokens_per_step == base.tokens_per_step_high == 1.0 and base.decoding == "autoregressive"
    assert base.per_token_ms == 36.5
    assert all(t.tokens_per_step <= 1.0 for t in bundle.token_latency if t.model == "llama2_70b")  # never credited more


def test_a_gpu_that_cannot_hold_the_model_is_projected_on_the_count_it_needs(bundle):
    f = {(x.model, x.hardware): x for x in bundle.feasibility}
    assert not f[("llama2_70b", "h100_sxm")].fits and f[("llama2_70b", "h100_sxm")].gpus_needed == 2
    assert f[("llada2_mini", "h100_sxm")].fits
    h100 = [t for t in bundle.token_latency if t.model == "llama2_70b" and "h100" in t.hardware]
    assert len(h100) == 1 and h100[0].hardware == "h100_sxm x2"
    assert h100[0].provenance.startswith("projected:") and "2 GPUs" in h100[0].provenance
    assert h100[0].per_token_ms == pytest.approx(36.5 * 4.8 / 3.35 / 2)
    mini = next(t for t in bundle.token_latency if t.model == "llada2_mini" and t.hardware == "h100_sxm" and t.n_tokens == 64)
    assert mini.provenance.startswith("projected:") and mini.step_ms == pytest.approx(5.0 * 4.8 / 3.35)


def test_sensitivity_bands_carry_to_latency(bundle):
    for n in (64, 128):
        rows = [s for s in bundle.sensitivity if s.model == "llada2_mini" and s.n_tokens == n]
        assert {s.provenance for s in rows} == {"modelled", "projected"}
        for s in rows:
            assert s.experts_low <= s.experts_central <= s.experts_high < s.hypotheses["iid"]
            assert s.step_ms_low <= s.step_ms_central <= s.step_ms_high
            assert s.per_token_ms_low < s.per_token_ms_high
    s64 = next(s for s in bundle.sensitivity if s.n_tokens == 64)
    s128 = next(s for s in bundle.sensitivity if s.n_tokens == 128)
    assert s128.hypotheses["blocks of 32"] / s64.hypotheses["blocks of 32"] > s128.hypotheses["iid"] / s64.hypotheses["iid"]


def test_validation_rows_mark_the_fit_point(bundle):
    assert [v.n_tokens for v in bundle.validation] == [8, 16, 24, 32]
    assert [v.used_for_fit for v in bundle.validation] == [False, False, False, True]
    for v in bundle.validation:
        assert v.error_pct == pytest.approx(100 * (v.modelled - v.published) / v.published)


def test_report_sections_and_tagged_abstract(bundle):
    text = flagship.abstract(bundle)
    tags = parse_tags(text)
    assert {"measured", "modelled", "projected", "published"} <= {k for k, _ in tags}
    assert ("measured", GPU) in tags and ("modelled", "calibrated routing") in tags
    assert "needs 2" in text and "per token" in text and "band" in text
    assert all(k != "measured" or s == GPU for k, s in tags)  # no modelled quantity wears a measured label
    conclusion = flagship.conclusion(bundle)
    assert "\n" not in conclusion and parse_tags(conclusion)
    lims = flagship.limitations(bundle)
    assert "Harness efficiency" in lims and "Synthetic routing" in lims and "Projection rule" in lims
    assert "| yes (fitted)" in flagship.validation_section(bundle).replace("**", "")
