"""The wording checks: overclaim, growth shape, scope of conclusions, factors against the baseline.

Each test writes its own sentences (none is taken from a defect probe); the bundle is the synthetic substantive run,
whose unique experts grow sub-linearly (exponent about 0.18) and whose LLaDA2.0-mini is 3.4-3.9x faster per committed
token than Llama-2-70B on H100.
"""

from __future__ import annotations

import pytest
from checkhelp import kinds, run, substantive


def doc(section: str, text: str) -> str:
    return f"# R\n\n## {section}\n\n{text}\n"


@pytest.mark.parametrize("sentence", [
    "These results establish conclusively that expert explosion is harmless for decoding.",
    "The measured gap holds for every GPU generation and at any block size.",
    "The routing question is now settled, so the band can safely be ignored.",
])
def test_overclaim_is_flagged(sentence):
    assert "overclaim" in kinds(run("no_overclaim", substantive(), doc("Conclusion", sentence)))


@pytest.mark.parametrize("sentence", [
    "The sweep does not prove that the trend continues beyond N=128.",
    "Which routing hypothesis holds cannot be ignored: the band is the answer's uncertainty.",
    'The DES paper claims its coreset "holds for every MoE model" ([2602.00879](https://arxiv.org/abs/2602.00879)).',
])
def test_hedged_negated_or_cited_wording_passes(sentence):
    assert run("no_overclaim", substantive(), doc("Discussion", sentence)).passed


def test_growth_called_superlinear_against_a_sublinear_run_is_flagged():
    res = run("growth_shape_consistent", substantive(), doc("Discussion", "Unique experts grow quadratically with N."))
    assert "growth_shape_contradicts_results" in kinds(res)


@pytest.mark.parametrize("sentence", ["The number of experts grows sub-linearly in N.",
                                      "Doubling N does not double the experts a step reads.",
                                      "Expert explosion is not super-linear here."])
def test_growth_words_that_agree_with_the_run_pass(sentence):
    assert run("growth_shape_consistent", substantive(), doc("Conclusion", sentence)).passed


def test_a_gpu_the_run_never_touched_is_out_of_scope():
    res = run("scope_of_conclusions", substantive(), doc("Conclusion", "The same saving should appear on an MI300X node."))
    assert "out_of_scope_hardware" in kinds(res)


def test_the_runs_gpus_and_a_cited_papers_gpu_pass():
    text = ("LLaDA2.0-mini fits one H100 and is faster than on H200. dInfer reports its rate on H800 GPUs "
            "([2510.08666](https://arxiv.org/abs/2510.08666)).")
    assert run("scope_of_conclusions", substantive(), doc("Discussion", text)).passed


def test_a_sibling_of_the_baseline_is_a_swapped_model():
    res = run("scope_of_conclusions", substantive(), doc("Abstract", "Against Llama-2-13B's decode the MoE model wins."))
    assert "model_swapped" in kinds(res)


@pytest.mark.parametrize("sentence, kind", [
    ("Per committed token LLaDA2.0-mini is about 3.9× slower than Llama-2-70B.", "factor_direction"),
    ("Per committed token LLaDA2.0-mini is about 12× below the baseline.", "factor_untraced"),
    ("It sustains 3.9x lower throughput than Llama-2-70B.", "factor_direction"),
])
def test_a_factor_against_the_baseline_must_match_the_run(sentence, kind):
    assert kind in kinds(run("baseline_factor", substantive(), doc("Discussion", sentence)))


def test_a_factor_the_run_gives_passes():
    text = "Per committed token LLaDA2.0-mini is about 3.9× faster than Llama-2-70B (3.4× at N=128)."
    assert run("baseline_factor", substantive(), doc("Conclusion", text)).passed


@pytest.mark.parametrize("sentence", [
    "At N=64 these latencies are what each of 64 concurrent users would see.",
    "The parallel tokens act as independent requests, so the step serves a batch.",
])
def test_parallel_tokens_read_as_users_or_requests_are_flagged(sentence):
    assert "parallel_tokens_as_batch" in kinds(run("tokens_not_batch", substantive(), doc("Discussion", sentence)))


def test_parallel_tokens_of_one_sequence_pass():
    text = "The 64 parallel tokens belong to one sequence; this is not 64 users, and batch size is 1."
    assert run("tokens_not_batch", substantive(), doc("Limitations", text)).passed


@pytest.mark.parametrize("sentence, ok", [
    ("Offloading streams experts over PCIe 4.0 x16 at about 32 GB/s, far below HBM.", True),
    ("Offloading streams experts over PCIe 5.0 at roughly 2 TB/s, close to HBM.", False),
    ("The H100 SXM reads HBM at 3.35 TB/s against 4.8 TB/s on the H200.", True),
    ("An H100 reads its HBM at 12 TB/s.", False),
])
def test_bandwidths_given_to_a_device_agree_with_its_datasheet(sentence, ok):
    res = run("device_facts", substantive(), doc("Discussion", sentence))
    assert res.passed is ok, res.findings


def test_an_unmeasured_quality_claim_about_a_run_model_is_unsupported():
    text = "LLaDA2.0-mini answers as accurately as Llama-2-70B, so its quality is the same at a fraction of the cost."
    assert "unsupported_result" in kinds(run("results_supported", substantive(), doc("Conclusion", text)))
    cited = ("LLaDA2.0 reports quality close to AR models of its size "
             "([2512.15745](https://arxiv.org/abs/2512.15745)); LLaDA2.0-mini was not scored here.")
    assert run("results_supported", substantive(), doc("Discussion", cited)).passed


@pytest.mark.parametrize("sentence, ok", [
    ("The H200 has more memory bandwidth than the H100 SXM, so the projection scales times up.", True),
    ("The H100 SXM's HBM3 is faster than the H200's HBM3e, so projected times are upper bounds.", False),
    ("LLaDA2.0-mini on H100 is faster than Llama-2-70B on H200 per committed token.", True),
])
def test_which_gpu_has_more_bandwidth_follows_the_datasheets(sentence, ok):
    assert run("device_facts", substantive(), doc("Limitations", sentence)).passed is ok


def test_a_factor_must_be_the_ratio_of_the_two_latencies_its_sentence_gives():
    b = substantive()
    ok = "LLaDA2.0-mini needs 10.65 ms per committed token, about 3.9× below the baseline's decode (41.27 ms)."
    assert run("baseline_factor", b, doc("Discussion", ok)).passed
    bad = ok.replace("3.9×", "5×")  # 41.27 / 10.65 is 3.9
    assert "factor_untraced" in kinds(run("baseline_factor", b, doc("Discussion", bad)))


def test_a_growth_factor_of_the_experts_must_be_one_the_run_gives():
    b = substantive()
    assert "growth_ratio_untraced" in kinds(run("growth_shape_consistent", b,
                                                doc("Discussion", "Unique experts grow ×2.9 from N=64 to N=128.")))


@pytest.mark.parametrize("sentence", ["Per committed token (step time ÷ N, since every token commits) the cost is low.",
                                      "Because all 64 parallel tokens are committed each step, a token costs a 64th."])
def test_committing_all_n_tokens_per_step_is_flagged(sentence):
    assert "parallel_tokens_as_batch" in kinds(run("tokens_not_batch", substantive(), doc("Abstract", sentence)))


def test_an_uncited_significance_claim_is_unsupported():
    text = "The growth is statistically significant (p < 0.001 over 30 seeds)."
    assert "unsupported_result" in kinds(run("results_supported", substantive(), doc("Results", text)))


@pytest.mark.parametrize("sentence", ["From N=64 to N=128 the distinct experts per step fall by a fifth.",
                                      "Unique experts shrink as the block grows (×0.8 from N=64 to N=128)."])
def test_experts_said_to_fall_against_a_growing_run_are_flagged(sentence):
    res = run("growth_shape_consistent", substantive(), doc("Conclusion", sentence))
    assert {"growth_shape_contradicts_results", "growth_ratio_untraced"} & kinds(res)


def test_a_free_lunch_is_an_overclaim():
    text = "Stacking the two caches gives a 1,300× speed-up with no accuracy cost."
    assert "overclaim" in kinds(run("no_overclaim", substantive(), doc("Abstract", text)))
