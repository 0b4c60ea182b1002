import logging

import pytest

from tasks.moe.calibration import CALIBRATION_TARGET_UNIQUE, fit_block_logit_scale
from tasks.moe.routing import make_router
from tasks.moe.stats import expert_stats


def test_fit_reproduces_its_calibration_point(mini, caplog):
    with caplog.at_level(logging.INFO, logger="tasks.moe.calibration"):
        fit = fit_block_logit_scale(seed=1)  # a seed not used by the default fit: logs afresh
    assert fit.converged and fit.parameter == "block_logit_scale"
    assert abs(fit.achieved_unique - CALIBRATION_TARGET_UNIQUE) <= fit.tol
    assert fit.iid_unique == pytest.approx(163.3, rel=0.02) and 0 < fit.value < 10
    assert any("calibration fit done" in m for m in caplog.messages)
    # On fresh random numbers the fitted router still lands on the published point.
    r = make_router("calibrated", mini, block_logit_scale=fit.value)
    st = expert_stats(r.route(32, 32, seed=12345), 256)
    assert st.unique_mean == pytest.approx(70, abs=2.5)


def test_default_router_uses_fit(mini):
    r = make_router("calibrated", mini)
    assert r.fit is not None and r.sigma == r.fit.value
    assert r.params()["fit"]["target_unique"] == 70.0


def test_unreachable_target():
    with pytest.raises(ValueError, match="unreachable"):
        fit_block_logit_scale(target_unique=300)
