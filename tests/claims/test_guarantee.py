"""Check "guarantee" on papers and claims invented for these tests (no probe item is copied): a claim whose figure
matches but which makes the method pay what its paper says it never pays (retraining, quality, changed outputs) is
contradicted; the same claim without the cost, or with the cost negated, is not; a paper that states both sides of a
guarantee settles nothing."""

from tasks.claims.check_guarantee import broken_guarantee
from tests.claims.conftest import papers_fixture
from tests.claims.conftest import rules_label as label

PAPERS = [
    ("2508.00501", "Sparrow: Plug-in Caching for Masked Diffusion LMs",
     "Sparrow reuses attention states across denoising steps of masked diffusion language models. It is training-free "
     "and raises decoding throughput by up to 6.3x on Alpha-7B without quality loss."),
    ("2508.00502", "Magpie: Draft-and-Verify Sampling for Large Transformers",
     "Magpie drafts several tokens with a small model and verifies them in parallel with the large one. It needs no "
     "retraining and speeds up sampling by 2.7x with identical outputs."),
]


retrieve = papers_fixture(PAPERS)


def test_cost_the_paper_rules_out_is_contradicted(retrieve):
    assert label("Sparrow raises decoding throughput by up to 6.3x on Alpha-7B, but only after a brief fine-tuning "
                 "stage.", retrieve) == "CONTRADICTED"
    assert label("Sparrow raises Alpha-7B decoding throughput by as much as 6.3x, at the cost of noticeably lower "
                 "accuracy.", retrieve) == "CONTRADICTED"
    assert label("Magpie speeds up sampling by 2.7x, although its outputs differ slightly from the large model's.",
                 retrieve) == "CONTRADICTED"


def test_without_the_cost_or_with_it_negated_is_supported(retrieve):
    assert label("Sparrow raises decoding throughput by up to 6.3x on Alpha-7B.", retrieve) == "SUPPORTED"
    assert label("Magpie speeds up sampling by 2.7x and does not require retraining.", retrieve) == "SUPPORTED"


def test_paper_stating_both_sides_settles_nothing():
    paper = "The Decode variant is lossless, while the Greedy variant trades lower accuracy for speed."
    assert broken_guarantee("The method reaches 3x at the cost of lower accuracy.", paper) == ""
    assert broken_guarantee("The method reaches 3x at the cost of lower accuracy.", "The method is lossless.") != ""
