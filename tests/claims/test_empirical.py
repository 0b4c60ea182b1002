import pytest

from tasks.claims.empirical import fit_growth_law, verify_empirically
from tasks.claims.records import EmpiricalFact


def facts(exponent: float, model="LLaDA2.0-mini", source="measured:h200", run="run-abc"):
    rows = [EmpiricalFact(metric="unique_experts_mean", model=model, n_tokens=n, value=3.0 * n ** exponent,
                          source=source, run_id=run, run_link=f"http://mlflow/#/runs/{run}") for n in (16, 32, 64, 128)]
    rows += [EmpiricalFact(metric="step_ms", model=model, n_tokens=n, value=ms, source="projected", run_id="run-proj")
             for n, ms in ((64, 4.0), (128, 7.5))]
    rows += [EmpiricalFact(metric="bandwidth_utilisation", model=model, n_tokens=128, value=0.62, source=source, run_id=run)]
    return rows


def test_growth_fit_recovers_the_exponent():
    fit = fit_growth_law(facts(0.93))
    assert fit.exponent == pytest.approx(0.93, abs=1e-3) and fit.r2 == pytest.approx(1.0)
    assert (fit.n_min, fit.n_max, fit.points) == (16, 128, 4) and fit.ratio == pytest.approx(8 ** 0.93, rel=1e-3)


def test_nearly_linear_claim_judged_by_the_fit():
    claim = "On LLaDA2.0-mini, unique experts grow nearly linearly with the number of parallel tokens."
    v = verify_empirically(claim, facts(0.9))
    assert (v.label, v.source, v.run_id, v.metric) == ("SUPPORTED", "measured", "run-abc", "unique_experts_mean.exponent")
    assert v.run_link.endswith("run-abc") and "0.8" in v.rationale
    assert verify_empirically(claim, facts(0.4)).label == "CONTRADICTED"  # saturating growth (measured facts)
    assert verify_empirically(claim, facts(0.7)).label == "NOT_ENOUGH_INFO"  # in between: unsettled


def test_claimed_numbers_against_ours_within_tolerance():
    v = verify_empirically("A 128-token block of LLaDA2.0-mini takes 7 ms of decode latency per step.", facts(0.9))
    assert (v.label, v.source, v.run_id, v.our_value) == ("SUPPORTED", "projected", "run-proj", 7.5)  # 7 vs 7.5: within 10%
    v = verify_empirically("A 128-token block of LLaDA2.0-mini takes 12 ms of decode latency per step.", facts(0.9))
    assert v.label == "NOT_ENOUGH_INFO" and v.rationale.startswith("basis: projected; qualified")  # a model cannot contradict
    v = verify_empirically("Decoding 128 tokens of LLaDA2.0-mini uses 60% of HBM bandwidth.", facts(0.9))
    assert (v.label, v.metric, v.source) == ("SUPPORTED", "bandwidth_utilisation", "measured")


def test_other_models_and_topics_are_left_alone():
    assert verify_empirically("Mixtral 8x7B grows its experts linearly with parallel tokens.", facts(0.9)) is None
    assert verify_empirically("LLaDA2.0-mini was trained on 20T tokens.", facts(0.9)) is None


def test_fact_source_is_validated():
    with pytest.raises(ValueError, match="measured:<gpu>"):
        EmpiricalFact(metric="step_ms", model="m", value=1.0, source="guess", run_id="r")


def test_numbers_without_a_token_count_or_a_model_of_ours_are_not_compared():
    # Our values depend on N: averaging over the sweep would contradict a correct claim by construction.
    assert verify_empirically("LLaDA2.0-mini activates 69.5 unique experts per layer.", facts(0.9)) is None
    # A utilisation figure about something we did not run (an attention kernel) is not ours to judge.
    assert verify_empirically("On H100 it reaches 75% utilisation at 128 tokens.", facts(0.9)) is None


def test_memory_bound_claims_are_judged_by_the_roofline_bound_of_our_points():
    bound = [EmpiricalFact(metric="memory_bound", model="LLaDA2.0-mini", n_tokens=n, value=v, source="projected", run_id="run-b")
             for n, v in ((32, 1.0), (64, 1.0), (128, 1.0))]
    claim = "Because every extra expert is streamed from memory, this growth makes decoding memory-bound."
    v = verify_empirically(claim, bound)
    assert (v.label, v.metric, v.source, v.run_id) == ("SUPPORTED", "memory_bound", "projected", "run-b")
    compute = [f.model_copy(update={"value": 0.0}) for f in bound]
    assert verify_empirically(claim, compute).label == "NOT_ENOUGH_INFO"  # the roofline bound is modelled: qualified
    assert verify_empirically("Prefill is compute-heavy.", bound) is None


def test_a_claim_naming_no_model_is_fitted_on_the_first_best_covered_model_every_time():
    both = facts(0.9, model="LLaDA2.0-mini") + facts(0.3, model="LLaDA-MoE-7B-A1B")
    claim = "the number of unique experts grows nearly linearly with the number of parallel tokens."
    assert verify_empirically(claim, both).label == "SUPPORTED"  # LLaDA2.0-mini comes first
    assert verify_empirically(claim, both[::-1]).our_value == pytest.approx(0.3, abs=1e-3)  # order decides, not hashing


def test_llm_extractor_switch_is_honoured_and_needs_an_llm_group():
    """verifier.extractor=llm is a real switch: with no llm group it fails with a message naming the fix."""
    from flows.claims import _extract
    from flows.config import load_settings
    from tasks.records import Paper

    settings, _ = load_settings(["verifier.extractor=llm"])
    with pytest.raises(ValueError, match="llm=nim"):
        _extract([Paper(arxiv_id="2501.00001", title="t", abstract="It is 2x faster on H100.")], settings.model_copy(update={"llm": None}))
    rules, _ = load_settings([])
    assert _extract([Paper(arxiv_id="2501.00001", title="Fast", abstract="It is 2x faster on an H100 GPU than the baseline.")], rules)


def test_modelled_growth_never_contradicts_and_says_its_basis():
    """Issue 12: DES's "grows almost linearly" against the synthetic router is qualified, not contradicted."""
    claim = "On LLaDA2.0-mini, unique experts grow nearly linearly with the number of parallel tokens."
    modelled = verify_empirically(claim, facts(0.4, source="modelled"))
    measured = verify_empirically(claim, facts(0.4))
    assert modelled.label == "NOT_ENOUGH_INFO" and "basis: modelled" in modelled.rationale and "qualified" in modelled.rationale
    assert measured.label == "CONTRADICTED" and modelled.confidence < measured.confidence
    supported = verify_empirically(claim, facts(0.9, source="modelled"))
    assert supported.label == "SUPPORTED" and supported.source == "modelled" and supported.confidence < 0.8


def test_growth_fit_excludes_the_trivial_n1_point():
    rows = facts(0.9) + [EmpiricalFact(metric="unique_experts_mean", model="LLaDA2.0-mini", n_tokens=1, value=8.0,
                                       source="measured:h200", run_id="run-abc")]
    fit = fit_growth_law(rows)
    assert fit.n_min == 16 and fit.exponent == pytest.approx(0.9, abs=1e-3)


@pytest.mark.parametrize("phrase", ["at N=64", "at N = 64", "at 64 parallel tokens", "with 64 tokens"])
def test_n_equals_phrasings_are_compared_with_our_sweep(phrase):
    """Issue 18 row 7: a false "0.01 ms at N=64" is compared with our measured step time, not skipped."""
    rows = facts(0.9) + [EmpiricalFact(metric="step_ms", model="LLaDA2.0-mini", n_tokens=64, value=5.08,
                                       source="measured:NVIDIA H200", run_id="run-m")]
    rows = [f for f in rows if not (f.metric == "step_ms" and f.source == "projected")]
    v = verify_empirically(f"LLaDA2.0-mini takes 0.01 ms of latency per step {phrase} on H100.", rows)
    assert v is not None and v.label == "CONTRADICTED" and v.metric == "step_ms" and v.our_value == pytest.approx(5.08)
    ok = verify_empirically(f"LLaDA2.0-mini takes 5 ms of latency per step {phrase}.", rows)
    assert ok.label == "SUPPORTED"
