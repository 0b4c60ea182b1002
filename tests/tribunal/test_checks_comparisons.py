"""baseline_per_token: the baseline enters a comparison by its per-token decode, never by one N-token forward."""

from __future__ import annotations

from checkhelp import base_ms, kinds, run, substantive


def test_per_token_decode_of_the_baseline_passes():
    b = substantive()
    text = f"# R\n\n## Discussion\n\nLLaDA2.0-mini costs 1.2 ms per token against {base_ms(b):.4g} ms for Llama-2-70B's decode.\n"
    assert run("baseline_per_token", b, text).passed


def test_an_n_token_forward_of_the_baseline_is_flagged():
    b = substantive()
    fwd = base_ms(b, 128)
    text = (f"# R\n\n## Conclusion\n\nPer committed token the MoE model needs 1.2 ms, against {fwd:.4g} ms for a 128-token "
            "pass of Llama-2-70B, a 30× advantage.\n")
    res = run("baseline_per_token", b, text)
    assert "step_vs_token" in kinds(res), res.findings


def test_without_a_baseline_forward_the_check_does_not_apply():
    b = substantive()
    sweep = [r for r in b.sweep if not (r.model == "llama2_70b" and r.n_tokens > 1)]
    assert not run("baseline_per_token", b.model_copy(update={"sweep": sweep}), "# R\n").applicable
