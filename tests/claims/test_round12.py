"""Round-12 mechanisms of issue 14, on papers and claims invented for these tests (no probe item is copied):
a claim set in a setting the paper never reports (batch size, block size, tokens in parallel) whose result the paper
does not bear out either is unsettled, while a claim that changes only the setting, or only the result, of what
the paper reports stays contradicted."""

import pytest

from tasks.claims.check_numbers import is_setting
from tasks.claims.numbers import parse_numbers
from tests.claims.conftest import fake_retriever, make_paper, papers_fixture
from tests.claims.conftest import rules_label as label

PAPERS = [
    ("2505.00201", "Heron: Expert Prefetching for Batched MoE Decoding",
     "At a batch size of 8, Heron cuts the MoE-layer decode latency of Grebe-20B by 31% without retraining."),
    ("2505.00202", "Avocet: Block Decoding for Diffusion LLMs",
     "With 32-token blocks, Avocet decodes 2.6x faster than token-by-token sampling on Stint-7B."),
]


retrieve = papers_fixture(PAPERS)


@pytest.mark.parametrize("text, value, expected", [
    ("At batch size 64, the latency falls by 20%.", "64", True),
    ("When 128 tokens are decoded in parallel, half the experts fire.", "128", True),
    ("The gain grows once the decoding block size is raised to 128 tokens.", "128", True),
    ("It reaches 900 tokens per second at batch size 1.", "900", False),
    ("It uses 64 experts per layer.", "64", False),
])
def test_setting_numbers(text, value, expected):
    q = next(q for q in parse_numbers(text) if q.text.startswith(value))
    assert is_setting(text, q) is expected


def test_other_setting_and_other_result_is_not_enough_info(retrieve):
    assert label("At batch size 32, Heron cuts Grebe-20B's MoE-layer decode latency by about 12%.",
                 retrieve) == "NOT_ENOUGH_INFO"
    assert label("With 128-token blocks, Avocet decodes 5x faster than token-by-token sampling on Stint-7B.",
                 retrieve) == "NOT_ENOUGH_INFO"


def test_only_the_result_or_only_the_setting_differs_is_contradicted(retrieve):
    assert label("At batch size 8, Heron cuts Grebe-20B's MoE-layer decode latency by about 12%.",
                 retrieve) == "CONTRADICTED"
    assert label("At batch size 32, Heron cuts Grebe-20B's MoE-layer decode latency by 31%.",
                 retrieve) == "CONTRADICTED"
    assert label("At batch size 8, Heron cuts Grebe-20B's MoE-layer decode latency by 31%.", retrieve) == "SUPPORTED"


def test_change_verbs_move_their_object():
    from tasks.claims.change import change_clash, moves
    assert ("up", "threshold") in moves("The fast mode raises the acceptance threshold and drafts more tokens.")
    assert ("down", "window") in moves("During warm-up the attention window of the model is gradually lowered.")
    assert moves("It does not reduce the window.") == set()
    assert change_clash("Fast mode raises the acceptance threshold.", "Fast mode lowers the acceptance threshold.")
    assert not change_clash("Fast mode lowers the acceptance threshold.", "Fast mode lowers the acceptance threshold.")


def test_a_thing_moved_the_other_way_is_contradicted():
    papers = [make_paper("2505.00205", "Tern: Curriculum Windows for Long-Context Training",
                         "Tern trains long-context models with a curriculum: the attention window of the sliding "
                         "attention is increased step by step during warm-up, then held fixed for the rest of training. "
                         "A draft mode lowers the acceptance threshold and relies on verification to fix errors.")]
    retrieve = fake_retriever(papers)
    assert label("During Tern's warm-up, the attention window of the sliding attention is gradually reduced.",
                 retrieve) == "CONTRADICTED"
    assert label("Tern's draft mode raises the acceptance threshold and relies on verification to fix errors.",
                 retrieve) == "CONTRADICTED"
    assert label("Tern's draft mode lowers the acceptance threshold and relies on verification to fix errors.",
                 retrieve) == "SUPPORTED"


def test_what_a_method_needs():
    from tasks.claims.change import requirement_clash
    ev = "Swift-gate predicts the next layer's experts; using the predictor requires fine-tuning the model."
    assert requirement_clash("Swift-gate can be added to any model without any fine-tuning.", ev)
    assert not requirement_clash("Swift-gate requires fine-tuning the model.", ev)
    assert requirement_clash("Kite has to be retrained before use.", "Kite speeds up models without retraining.")
    assert not requirement_clash("Kite requires no retraining.", "Kite speeds up models without retraining.")
    papers = [make_paper("2505.00206", "Swift-gate: Predictive Expert Loading", "Swift-gate is a co-design that "
                         "selects the next block's experts ahead of time so that transfers overlap with compute; using "
                         "the gate requires fine-tuning the model.")]
    retrieve = fake_retriever(papers)
    assert label("Swift-gate's predictor can be dropped into an existing model without any fine-tuning.",
                 retrieve) == "CONTRADICTED"


def test_a_percent_speedup_is_a_multiple():
    papers = [make_paper("2505.00207", "Gannet: IO-Aware Fused Kernels",
                         "Gannet fuses attention kernels. It trains models faster: 12% end-to-end speedup on Wren-base "
                         "(sequence length 256) over the reference record, 2.5x on Finch (length 2K).")]
    retrieve = fake_retriever(papers)
    assert label("Gannet gives a 2.5x end-to-end training speedup for Wren-base at sequence length 256 over the "
                 "reference record.", retrieve) == "CONTRADICTED"
    assert label("Gannet gives about a 1.12x end-to-end training speedup for Wren-base at sequence length 256.",
                 retrieve) != "CONTRADICTED"


def test_half_again_is_one_and_a_half_times():
    papers = [make_paper("2505.00208", "Anatomy of the Corvid Accelerator", "Microbenchmarks of the Corvid "
                         "accelerator report a 1.5x GEMM speedup from its asynchronous copy engine and INT8 throughput "
                         "nearly double that of FP16.")]
    retrieve = fake_retriever(papers)
    assert label("On Corvid, the asynchronous copy engine speeds up GEMM by half again.", retrieve) == "SUPPORTED"
    assert label("On Corvid, the asynchronous copy engine speeds up GEMM by half.", retrieve) != "SUPPORTED"


def test_a_count_listed_before_a_counted_accelerator_counts_it_too():
    papers = [make_paper("2505.00209", "Skua: Adaptive Parallelism for MoE", "Skua is an MoE stack with adaptive "
                         "parallelism. It delivers 3.1x and 4.4x speedups for a single MoE layer on 32 and 1,024 H100 "
                         "GPUs over the prior state of the art.")]
    retrieve = fake_retriever(papers)
    assert label("Skua speeds up a single MoE layer by about 3.1x on 32 H100 GPUs and by 4.4x on 1,024 H100 GPUs.",
                 retrieve) == "SUPPORTED"
    assert label("Skua speeds up a single MoE layer by about 3.1x on 64 H100 GPUs.", retrieve) == "CONTRADICTED"
