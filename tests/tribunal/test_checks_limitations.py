"""limitations_stated: the threats the bundle carries are stated; the harness efficiency is quantified."""

from __future__ import annotations

import bundles as B
from checkhelp import kinds, run

from tasks.tribunal.checks.limitations import harness


def _slow_harness():
    """A measured bundle whose N=1 steps take 4x their own roofline (25% efficiency)."""
    b = B.measured_bundle()
    sweep = []
    for r in b.sweep:
        if r.measured and r.n_tokens == 1:
            roof = next(x.step_ms for x in b.rows(r.model, 1, "h200") if not x.measured)
            r = r.model_copy(update={"step_ms": roof * 4})
        sweep.append(r)
    return b.model_copy(update={"sweep": sweep})


def _doc(lims: str) -> str:
    return f"# R\n\n## Limitations\n\n{lims}\n\n## Conclusion\n\nDone.\n"


def test_limitations_naming_routing_projection_and_harness_pass():
    b = _slow_harness()
    model, ms, eff = harness(_ctx(b))[0]
    text = _doc(f"- Synthetic routing: unique experts come from a calibrated routing model.\n"
                f"- H100 figures are projected from H200 by datasheet bandwidth.\n"
                f"- Harness: {model} at N=1 reaches {100 * eff:.1f}% of its roofline.")
    res = run("limitations_stated", b, text)
    assert res.passed, res.findings


def _ctx(b):
    from tasks.tribunal.checks import CheckContext

    return CheckContext(bundle=b)


def test_missing_harness_or_routing_limitation_is_flagged():
    b = _slow_harness()
    assert harness(_ctx(b))
    res = run("limitations_stated", b, _doc("- H100 figures are projected from H200 by datasheet bandwidth.\n"
                                             "- Real kernels reach a fraction of the roofline."))
    msgs = " ".join(f.message for f in res.findings)
    assert "missing_limitation" in kinds(res) and "harness" in msgs and "routing" in msgs


def test_an_efficient_harness_needs_no_harness_limitation():
    b = B.measured_bundle()
    assert not harness(_ctx(b))
