import pytest

from tasks.moe.hardware import load_hardware
from tasks.moe.specs import load_model_spec
from tasks.moe.step_model import (StepSetup, load_decoding_setup, make_step_setup, roofline, step_cost)

MB_EXPERT_MINI = 3 * 2048 * 512 * 2


def test_llada2_mini_hand_computed_bytes(mini):
    setup = StepSetup(block_len=32, prefix_len=1000, tokens_committed_per_step=2.55, kv_cache=True)
    c = step_cost(mini, setup, 70.0)
    assert c.routed_expert_bytes == 19 * 70 * MB_EXPERT_MINI
    assert c.shared_expert_bytes == 19 * MB_EXPERT_MINI
    assert c.router_bytes == 19 * 2048 * 256 * 2
    assert c.dense_ffn_bytes == 3 * 2048 * 5120 * 2
    assert c.attention_bytes == (20 * (2 * 2048 * 2048 + 2 * 2048 * 512 + 2 * 2048) + 2048) * 2
    assert c.lm_head_bytes == 157184 * 2048 * 2 and c.embedding_bytes == 32 * 2048 * 2
    assert c.kv_cache_bytes == 1000 * 20 * 2 * 4 * 128 * 2
    assert c.total_bytes == pytest.approx(sum(v for k, v in c.bytes_breakdown().items() if k != "total"))
    # per-layer list equals the same mean as a scalar
    assert step_cost(mini, setup, [70.0] * 19).routed_expert_bytes == c.routed_expert_bytes
    # FLOPs: 2 * tokens * matmul params touched per token + attention over context P + N
    per_tok = 20 * mini.attention_params_per_layer() + 3 * 2048 * 5120 + 19 * (9 * 3 * 2048 * 512 + 2048 * 256) \
        + 157184 * 2048
    assert c.linear_flops == 2 * 32 * per_tok
    assert c.attention_flops == 4 * 32 * 1032 * 16 * 128 * 20


def test_llama2_70b_autoregressive_batch1():
    s = load_model_spec("llama2_70b")
    setup = make_step_setup(1, 0, load_decoding_setup("autoregressive"))
    c = step_cost(s, setup, 0.0)
    assert c.weight_bytes == pytest.approx(s.total_params() * 2 - (s.vocab - 1) * s.hidden * 2)  # N=1 row gathered
    rf = roofline(c, load_hardware("h100_sxm"))
    assert rf.bound == "memory" and rf.bandwidth_utilisation_projected == pytest.approx(1.0)
    assert rf.time_ms == pytest.approx(c.total_bytes / 3.35e12 * 1e3)
    assert rf.tokens_per_s == pytest.approx(1 / (rf.time_ms / 1e3))
    assert 40 < rf.time_ms < 42  # ~138 GB / 3.35 TB/s


def test_compute_bound_at_large_n():
    s = load_model_spec("llama2_70b")
    setup = make_step_setup(4096, 0, load_decoding_setup("llada2_block32_t095"))
    rf = roofline(step_cost(s, setup, 0.0), load_hardware("h200"))
    assert rf.bound == "compute" and rf.bandwidth_utilisation_projected < 1.0
    assert rf.time_ms == pytest.approx(rf.compute_ms)


def test_published_setup_and_tokens_per_step():
    d = load_decoding_setup("llada2_block32_t095")
    assert d.block_len == 32 and d.tokens_per_forward == 2.55
    assert make_step_setup(1, 0, d).tokens_committed_per_step == 1
    assert make_step_setup(64, 0, d).tokens_committed_per_step == 2.55
    with pytest.raises(ValueError, match="tokens_per_step"):
        make_step_setup(64, 0, load_decoding_setup("dinfer_lladamoe_block64_t08"))
    assert make_step_setup(64, 0, load_decoding_setup("dinfer_lladamoe_block64_t08"), 4.0).tokens_committed_per_step == 4


def test_no_kv_cache_recomputes_prefix(mini):
    c = step_cost(mini, StepSetup(32, 100, 2.55, kv_cache=False), 80.0)
    assert c.kv_cache_bytes == 0 and c.tokens_processed == 132


def test_bad_step_inputs(mini):
    with pytest.raises(ValueError, match="block_len"):
        StepSetup(0, 10, 1.0)
    with pytest.raises(ValueError, match="tokens_committed"):
        StepSetup(8, 10, 9.0)
    with pytest.raises(ValueError, match="19 MoE layers"):
        step_cost(mini, StepSetup(8, 0, 1.0), [10.0] * 3)
    with pytest.raises(ValueError, match="must lie in"):
        step_cost(mini, StepSetup(8, 0, 1.0), 300.0)
    with pytest.raises(ValueError, match="sweep.decoding"):
        load_decoding_setup("nope")
