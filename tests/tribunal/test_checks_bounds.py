"""physical_bounds: shares of a ceiling stay <= 100%; a time's unit agrees with the run's value of the same quantity."""

from __future__ import annotations

from checkhelp import base_ms, kinds, run, substantive


def _doc(body: str) -> str:
    return f"# R\n\n## Abstract\n\n{body}\n\n## Conclusion\n\nDone.\n"


def test_plausible_shares_and_units_pass():
    b = substantive()
    ms = base_ms(b)
    text = _doc(f"The step reaches 92% of the datasheet bandwidth (utilisation) and the dense decode takes {ms:.3g} ms per token; "
                "throughput rises 150% from N=8 to N=64.")
    res = run("physical_bounds", b, text)
    assert res.passed, res.findings


def test_share_above_a_ceiling_is_impossible():
    b = substantive()
    res = run("physical_bounds", b, _doc("Memory-bandwidth utilisation of the step is 127% at N=64."))
    assert "impossible_value" in kinds(res)
    table = "## Results\n\n| model | N | bandwidth util. |\n|---|---|---|\n| m | 64 | 104% |\n"
    assert "impossible_value" in kinds(run("physical_bounds", b, "# R\n\n" + table))


def test_bundle_row_above_one_is_impossible():
    b = substantive()
    sweep = [r.model_copy(update={"bandwidth_utilisation": 1.4}) if i == 0 else r for i, r in enumerate(b.sweep)]
    assert "impossible_value" in kinds(run("physical_bounds", b.model_copy(update={"sweep": sweep}), None))


def test_a_millisecond_figure_written_in_microseconds_is_a_unit_error():
    b = substantive()
    ms = base_ms(b)
    res = run("physical_bounds", b, _doc(f"Llama-2-70B decodes one token in {ms:.3g} µs on H100."))
    assert "unit_mismatch" in kinds(res)
    # the same quantity written correctly in seconds is fine
    assert run("physical_bounds", b, _doc(f"Llama-2-70B decodes one token in {ms / 1000:.4g} s on H100.")).passed


def test_literature_only_is_not_applicable():
    import bundles as B

    assert not run("physical_bounds", B.literature_only(), "# R\n\n## Abstract\n\nutilisation of 300%.\n").applicable


def test_a_share_rising_past_the_ceiling_in_one_clause_is_flagged():
    b = substantive()
    assert "impossible_value" in kinds(run("physical_bounds", b, _doc("The copy-bandwidth utilisation rises from 60% to 130% at N=128.")))


def test_a_memory_size_in_the_wrong_unit_is_a_unit_error():
    b = substantive()
    assert run("physical_bounds", b, _doc("Llama-2-70B needs 138 GB, two H100s.")).passed
    assert "unit_mismatch" in kinds(run("physical_bounds", b, _doc("Llama-2-70B needs 138 MB, so it fits anywhere.")))


def test_our_expert_count_above_e_is_impossible():
    b = substantive()
    ok = _doc("Each step reads 120 (120–180) experts [modelled: calibrated routing]; a paper reports 2048 experts "
              "[published: X, arXiv 2501.00001].")
    assert run("physical_bounds", b, ok).passed
    bad = _doc("At N=128 each step reads 312 (300–330) distinct experts [modelled: calibrated routing].")
    assert "impossible_value" in kinds(run("physical_bounds", b, bad))
