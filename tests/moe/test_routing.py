import numpy as np
import pytest

from tasks.moe.routing import ROUTING_KINDS, make_router
from tasks.moe.specs import load_model_spec
from tasks.moe.stats import expert_stats, iid_expected_unique, unique_counts

NS = [1, 8, 16, 32, 64, 128, 256]


@pytest.mark.parametrize("model", ["llada2_mini", "llada_moe_7b", "switch_base_128", "mixtral_8x7b"])
def test_iid_matches_closed_form(model):
    s = load_model_spec(model)
    r = make_router("iid", s)
    for n in NS:
        st = expert_stats(r.route(n, 8, seed=n), s.num_experts)
        expected = iid_expected_unique(s.num_experts, s.top_k, n)
        assert st.unique_mean == pytest.approx(expected, rel=0.03), (model, n)
        assert st.iid_expected_unique == expected


@pytest.mark.parametrize("kind", ["iid", "zipf", "calibrated"])
def test_shape_dtype_distinct(mini, kind):
    idx = make_router(kind, mini).route(16, 3, seed=1)
    assert idx.shape == (3, 19, 16, 8) and idx.dtype == np.int32
    assert idx.min() >= 0 and idx.max() < 256
    srt = np.sort(idx, axis=-1)
    assert (srt[..., 1:] != srt[..., :-1]).all()


@pytest.mark.parametrize("kind", ["iid", "zipf", "calibrated"])
@pytest.mark.parametrize("model", ["llada2_mini", "llada_moe_7b"])
def test_monotone_and_bounded(model, kind):
    s = load_model_spec(model)
    r = make_router(kind, s)
    # Nested prefixes of one sample: unique experts can never decrease as tokens are added.
    idx = r.route(256, 4, seed=3)
    prev = np.zeros(idx.shape[:2])
    for n in NS:
        u, _ = unique_counts(idx[:, :, :n], s.num_experts)
        assert (u >= prev).all()
        assert (u <= min(s.num_experts, n * s.top_k)).all()
        prev = u
    # Means over independent samples: non-decreasing across the grid (1-expert slack for noise).
    means = [expert_stats(r.route(n, 8, seed=7), s.num_experts).unique_mean for n in NS]
    assert all(b >= a - 1.0 for a, b in zip(means, means[1:])), means
    assert means[0] == s.top_k


def test_seed_reproducible_and_distinct(mini):
    r = make_router("calibrated", mini)
    assert np.array_equal(r.route(8, 2, seed=5), r.route(8, 2, seed=5))
    assert not np.array_equal(r.route(8, 2, seed=5), r.route(8, 2, seed=6))


def test_concentration_ordering(mini):
    u = {k: expert_stats(make_router(k, mini).route(32, 8, 0), 256).unique_mean for k in ("iid", "zipf", "calibrated")}
    assert u["calibrated"] < u["zipf"] < u["iid"]


def test_calibrated_zero_scale_is_iid(mini):
    st = expert_stats(make_router("calibrated", mini, block_logit_scale=0.0).route(32, 8, 0), 256)
    assert st.unique_mean == pytest.approx(iid_expected_unique(256, 8, 32), rel=0.03)


def test_calibrated_block_len_splits_blocks(mini):
    one = expert_stats(make_router("calibrated", mini, block_logit_scale=2.0).route(64, 8, 0), 256).unique_mean
    two = expert_stats(make_router("calibrated", mini, block_logit_scale=2.0, block_len=32).route(64, 8, 0),
                       256).unique_mean
    assert two > one  # two independent block preferences spread wider than one


def test_bad_inputs(mini):
    r = make_router("iid", mini)
    for bad in (0, -3):
        with pytest.raises(ValueError, match="n_tokens"):
            r.route(bad, 1, 0)
    with pytest.raises(ValueError, match="n_steps"):
        r.route(4, 0, 0)
    with pytest.raises(ValueError, match="allowed: " + ", ".join(ROUTING_KINDS)):
        make_router("random", mini)
    with pytest.raises(ValueError, match="dense"):
        make_router("iid", load_model_spec("llama2_7b"))
    with pytest.raises(ValueError, match="exponent"):
        make_router("zipf", mini, exponent=-1)
    with pytest.raises(ValueError, match="bad parameters"):
        make_router("iid", mini, temperature=2)


def _one_shot_calibrated(spec, sigma, block, n, seed):
    """The textbook draw: block biases, then one (layers, tokens, experts) Gumbel array, then top-k."""
    from tasks.moe.routing import _gumbel, gumbel_top_k
    rng = np.random.default_rng(seed)
    layers = len(spec.moe_layer_indices)
    z = rng.standard_normal((layers, -(-n // block), spec.num_experts), dtype=np.float32)
    g = _gumbel(rng, (layers, n, spec.num_experts))
    return gumbel_top_k(sigma * np.repeat(z, block, axis=1)[:, :n] + g, spec.top_k)


@pytest.mark.parametrize("n,block", [(1, 32), (100, 32), (257, 7)])
def test_chunked_routing_equals_one_draw(mini, monkeypatch, n, block):
    # Tiny chunks (odd sizes, crossing block edges) must take the same numbers from the generator.
    import tasks.moe.routing as routing
    monkeypatch.setattr(routing, "ROUTING_CHUNK_ELEMENTS", 3 * mini.num_experts + 5)
    got = make_router("calibrated", mini, block_logit_scale=2.0, block_len=block).route(n, 1, 5)[0]
    assert np.array_equal(got, _one_shot_calibrated(mini, 2.0, block, n, 5))


def test_huge_n_routing_keeps_host_memory_flat(mini):
    # 2^15 tokens would be 600 MB of float32 scores per step in one draw; chunked, tracemalloc sees the
    # int32 output (2.5 MB) plus one chunk.
    import tracemalloc
    tracemalloc.start()
    out = make_router("iid", mini).route(1 << 15, 1, 0)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert out.shape == (1, len(mini.moe_layer_indices), 1 << 15, mini.top_k)
    assert peak < 100e6, f"routing peaked at {peak / 1e6:.0f} MB"
