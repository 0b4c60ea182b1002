"""Units, feasibility rule, sensitivity bands and validation data on the real conf/ (issue 12)."""

import math

import pytest

from tasks.moe import feasibility as feas
from tasks.moe.hardware import load_hardware
from tasks.moe.sensitivity import band, blocks_of, scale_ms
from tasks.moe.specs import load_model_spec
from tasks.moe.step_model import load_decoding_setup, make_step_setup
from tasks.moe.units import committed_tokens, published_setups
from tasks.moe.validation import load_published, validate


def test_committed_tokens_range_over_the_published_setups():
    ct = committed_tokens("llada2_block32_t095", 64)
    assert (ct.central, ct.low, ct.high) == (2.55, 2.55, 3.31)
    assert {"llada2_block32_t095", "llada2_block32_t085"} <= set(ct.setups)
    c, lo, hi = ct.per_token_ms(5.1)
    assert c == pytest.approx(2.0) and lo == pytest.approx(5.1 / 3.31) and hi == pytest.approx(2.0)
    assert all(s.tokens_per_forward for s in published_setups())  # setups without a published rate are left out


def test_autoregressive_commits_exactly_one_token_and_n1_is_capped():
    ar = committed_tokens("autoregressive", 64)
    assert (ar.central, ar.low, ar.high) == (1.0, 1.0, 1.0)
    assert committed_tokens("llada2_block32_t095", 1).high == 1.0  # a step never commits more than it decodes


def test_a_setup_without_a_published_rate_names_the_fix():
    with pytest.raises(ValueError, match="publishes no tokens_per_forward"):
        committed_tokens("dinfer_lladamoe_block64_t08", 64)


@pytest.mark.parametrize("model,hw,fits,gpus,par", [
    ("llama2_70b", "h100_sxm", False, 2, "tensor"),   # 138 GB > 80 GB
    ("llama2_70b", "h200", True, 1, "none"),         # 138 GB < 141 GB
    ("llada2_flash", "h100_sxm", False, 4, "expert"),  # 206 GB: 3 would fit but does not divide 32 heads / 256 experts
    ("llada2_flash", "h200", False, 2, "expert"),
    ("llada2_mini", "h100_sxm", True, 1, "none"),
])
def test_feasibility_rule(model, hw, fits, gpus, par):
    f = feas.check_fit(load_model_spec(model), load_hardware(hw), 640)
    assert (f.fits, f.gpus_needed, f.parallelism) == (fits, gpus, par)
    assert f.weights_gb + f.kv_cache_gb <= f.gpus_needed * f.gpu_memory_gb
    assert feas.split_ms(10.0, f.gpus_needed) == pytest.approx(10.0 / gpus)


def test_blocks_of_32_closed_form():
    assert blocks_of(64, 256, 70.0) == pytest.approx(256 * (1 - (1 - 70 / 256) ** 2))
    assert blocks_of(128, 256, 70.0) == pytest.approx(256 * (1 - (1 - 70 / 256) ** 4))
    assert blocks_of(32, 256, 70.0) == 70.0


def test_band_orders_hypotheses_and_carries_to_bytes():
    spec = load_model_spec("llada2_mini")
    setup = make_step_setup(128, 512, load_decoding_setup("llada2_block32_t095"))
    b = band(spec, setup, unique_one_block=121.0, unique_at_32=70.4)
    assert b.low == 121.0 and b.high == pytest.approx(185, abs=1) and b.high < b.experts["iid"] <= 256
    lo, hi = b.bytes_low_high()
    assert lo < hi < b.bytes["iid"]
    assert scale_ms(6.0, b.bytes["one block of N"], hi) > 6.0
    with pytest.raises(ValueError, match="dense"):
        band(load_model_spec("llama2_70b"), setup, 1.0, 1.0)


def test_published_points_carry_citations_and_one_fit_point():
    pts = load_published()
    assert [p.block for p in pts] == [8, 16, 24, 32]
    assert all("2605.30876" in p.citation for p in pts) and [p.fit for p in pts] == [False, False, False, True]
    assert pts[0].mean == pytest.approx((31.5 + 32.2 + 31.1 + 32.3) / 4)


def test_malformed_validation_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "v.yaml"
    bad.write_text("points:\n  - model: llada2_mini\n    block: 8\n")
    with pytest.raises(ValueError, match="point 0 is malformed"):
        load_published(bad)


def test_calibrated_router_reproduces_the_out_of_sample_points():
    pts = load_published()
    out = validate(pts, steps=8)
    assert all(math.isfinite(v.modelled) for v in out)
    assert all(abs(v.error_pct) < 15 for v in out), [(v.published.block, v.error_pct) for v in out]


def test_the_dense_baseline_is_never_credited_with_more_than_one_token_per_step():
    from tasks.moe.sweep import SweepPointSpec, run_point

    r = run_point(SweepPointSpec("llama2_70b", "dense", 64, ("h100_sxm",), steps=2))
    assert r.tokens_committed == 1.0
    assert r.roofline["h100_sxm"]["tokens_per_s"] == pytest.approx(1e3 / r.roofline["h100_sxm"]["time_ms"])
