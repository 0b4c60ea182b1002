import numpy as np
import pytest

from tasks.moe.stats import expert_stats, fit_growth_law, iid_expected_unique


def test_hand_example():
    # 1 step, 2 layers, 3 tokens, k=2, E=4
    idx = np.array([[[[0, 1], [1, 2], [0, 2]],
                     [[3, 0], [3, 1], [3, 2]]]])
    st = expert_stats(idx, 4)
    assert st.unique_per_layer_mean == [3.0, 4.0]
    assert st.unique_mean == 3.5 and st.activated_fraction == 3.5 / 4
    assert st.tokens_per_expert_mean == pytest.approx((6 / 3 + 6 / 4) / 2)
    assert st.tokens_per_expert_max == pytest.approx((2 + 3) / 2) and st.tokens_per_expert_max_overall == 3


def test_closed_form_values():
    assert iid_expected_unique(256, 8, 1) == pytest.approx(8)
    assert iid_expected_unique(256, 8, 32) == pytest.approx(163.3, abs=0.1)
    with pytest.raises(ValueError):
        iid_expected_unique(8, 9, 4)
    with pytest.raises(ValueError):
        iid_expected_unique(8, 2, 0)


def test_growth_fit_recovers_iid_law():
    ns = [1, 8, 16, 32, 64, 128, 256]
    g = fit_growth_law(ns, [iid_expected_unique(256, 8, n) for n in ns], 256)
    assert g.p == pytest.approx(8 / 256, rel=1e-3) and g.r2 > 0.9999
    assert g.initial_slope == pytest.approx(-256 * np.log(1 - 8 / 256), rel=1e-3)
    assert g.mix_r2 > 0.9999 and g.mix_beta > 50
    assert g.predict(32) == pytest.approx(163.3, abs=0.2)


def test_growth_fit_heterogeneous_law():
    ns = np.array([1, 8, 16, 32, 64, 128, 256.0])
    u = 256 * (1 - (1 + ns / (0.3 * 50)) ** -0.3)
    g = fit_growth_law(ns, u, 256)
    assert g.mix_beta == pytest.approx(0.3, rel=0.05) and g.mix_n0 == pytest.approx(50, rel=0.05)
    assert g.mix_r2 > g.r2


def test_bad_indices():
    with pytest.raises(ValueError, match="shape"):
        expert_stats(np.zeros((2, 3)), 4)
    with pytest.raises(ValueError, match="must lie in"):
        expert_stats(np.full((1, 1, 1, 1), 9), 4)
