"""tables_match_bundle: the derived tables and their prose summaries agree with the bundle rows."""

from __future__ import annotations

import bundles as B
from checkhelp import kinds, run


def _val_table(b, edit=None) -> str:
    rows = []
    for v in b.validation:
        pub, mod, err = v.published, v.modelled, v.error_pct
        if edit and v.n_tokens == edit:
            mod, err = pub * 1.001, 0.1
        rows.append(f"| {v.model} | {v.n_tokens} | {v.setting} | {pub:.3g} [published] | {mod:.3g} [modelled] | {err:+.1f}% | x |")
    return ("### Validation of the routing model\n\n| model | block B | setting | published | modelled | error | citation |\n"
            "|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n")


def _lat_table(b, base_tokens="1 (1–1)") -> str:
    rows = []
    for t in b.token_latency:
        tps = base_tokens if t.model == "llama2_70b" else f"{t.tokens_per_step:.3g}"
        rows.append(f"| {t.model} | {t.n_tokens} | {t.hardware} | {t.step_ms:.4g} | {tps} | {t.decoding} | {t.per_token_ms:.4g} |")
    return ("### Latency per committed token\n\n| model | N | hardware | step ms | tokens per step (range) | decoding setups | "
            "ms per committed token (range) |\n|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n")


def _doc(b, abstract="Within 4.5% of the published counts (validated only up to block 32).", val=None, lat=None, feas="") -> str:
    return (f"# R\n\n## Abstract\n\n{abstract}\n\n## Results\n\n{val or _val_table(b)}\n{lat or _lat_table(b)}\n"
            f"### Feasibility on the target hardware\n\n{feas}\n\n## Conclusion\n\nDone.\n")


def test_tables_and_prose_that_agree_with_the_run_pass():
    b = B.substantive()
    res = run("tables_match_bundle", b, _doc(b, feas="Llama-2-70B (138 GB) needs 2 H100 GPUs; LLaDA2.0-mini fits on one H100."))
    assert res.passed, res.findings


def test_an_edited_validation_row_is_flagged():
    b = B.substantive()
    assert "table_mismatch" in kinds(run("tables_match_bundle", b, _doc(b, val=_val_table(b, edit=16))))


def test_understated_validation_error_and_overstated_scope_are_flagged():
    b = B.substantive()
    res = run("tables_match_bundle", b, _doc(b, abstract="The router reproduces the published counts within 1%, "
                                                       "validated at N=64 and 128."))
    assert [f.kind for f in res.findings].count("validation_overstated") == 2


def test_dense_baseline_credited_with_parallel_tokens_in_the_table():
    b = B.substantive()
    res = run("tables_match_bundle", b, _doc(b, lat=_lat_table(b, base_tokens="2.8 (2.5–3.1)")))
    assert "baseline_credited_parallel_tokens" in kinds(res)


def test_a_model_said_to_fit_a_gpu_it_does_not_fit():
    b = B.substantive()
    res = run("tables_match_bundle", b, _doc(b, feas="Llama-2-70B (138 GB) fits on one H100 SXM."))
    assert "infeasible_hardware" in kinds(res)
    res = run("tables_match_bundle", b, _doc(b, feas="Llama-2-70B needs 138 GB and so needs 1 H100."))
    assert "infeasible_hardware" in kinds(res)
