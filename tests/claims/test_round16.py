"""Round-16 mechanisms of issue 14, on papers and claims invented for these tests after the failure classes of probes
44-53 (no probe sentence is copied; the shapes are the classes').

- Spelled-out shares joined as a range ("a half to a third", "between half and nearly three quarters"), "1/200" and
  word ranges with any unit ("two to three tokens per second") are read as one quantity; "2-3x less" implies that a
  third to a half remains.
- "a Pylon-served Gamma-3B" names Gamma-3B (compared with, as the text before says), not "Pylon-served Gamma-3B".
- A value matched only in another paper does not settle a number the subject's own paper gives otherwise.
- A version said once for a sentence ("The revised version reports ...") qualifies every number it lists, so a claim
  that joins one version's figure to the other's is contradicted.
- The words heading a list ("reports speedups of 1.4x for ..., 9.5x for beam search") tell no item from another.
- A claim that names no system is contradicted by a number in its own slot (most of its words) that differs.
- "rather than X", "contrary to the usual explanation of X", "replaces X": X is not asserted; a cause the claim ranks
  ("most of it comes from X rather than Y") is not settled by a paper that only has X and Y.
- A resolution ("at 256x256") is the setting of its number: the value claimed at another resolution is contradicted.
- "replaces X with Y" sets X aside, not Y; "a further 45%" is not the 1.45x the paper reports.
- A bound restates the paper's bound ("under 2%" is not "under 0.2%"); "1.45x faster" is "45% faster"; a step time
  cut by 1.6x is a 1.6x speed-up; "levels off, growing only logarithmically" is not "grows almost linearly".
"""

from tasks.claims.context import analyse_sentence
from tasks.claims.numbers import parse_numbers
from tests.claims.conftest import papers_fixture
from tests.claims.conftest import rules_label as label

PAPERS = [
    ("2508.00601", "Plover: Memory-Lean Batch Inference for Sparse Models",
     "Plover runs batch inference for sparse models on small GPUs. When throughput is bounded by GPU memory it reaches "
     "that bound with 2-3x less host memory."),
    ("2508.00602", "Gull: CPU-GPU Co-Execution for Sparse Models",
     "Presents Gull, which runs experts on the CPU when that moves less data. The first version reported running "
     "Model-Z at more than 4 tokens per second on a single GPU with 16 GB of memory."),
    ("2508.00603", "Shrike: Predicting Expert Paths",
     "Shrike targets memory-constrained inference. The paper notes that Model-Z needs more than 60 GB of GPU memory, "
     "above the 40 GB of one accelerator."),
    ("2508.00604", "Bramble: Block Routing for Sparse Diffusion LMs",
     "Proposes Bramble, block routing for sparse diffusion language models. In the first version, unique experts fall from "
     "50.5 to 12.1 while 98.2% of the accuracy is kept. The revised version reports a fall from 50.5 to 13.4 experts with "
     "99.1% of the accuracy kept."),
    ("2508.00605", "Tanager: Sparse Inference on Modest GPUs",
     "Tanager runs experts where data movement is cheapest. The revised version reports speedups of 1.4x for short "
     "prompts, 1.2x for long prefill and 9.5x for beam search against various baselines."),
    ("2508.00606", "Sparse Upcycling of Dense Checkpoints",
     "The paper gives a recipe for converting existing dense checkpoints into sparse ones using 4% of the original "
     "pre-training compute."),
    ("2508.00607", "A Roofline View of Inference",
     "The survey uses a roofline model to explain why language-model inference tends to be memory-bound."),
    ("2508.00608", "Skerry: Shared Experts Across a Block",
     "Skerry replaces token-level expert pruning with one shared, high-utility expert set for the whole block."),
    ("2508.00609", "Wagtail: A Modular Serving Framework for Diffusion LMs",
     "Wagtail splits serving into a model, an iteration manager, a decoding strategy and a cache manager."),
    ("2508.00610", "Dunlin: Adaptive Prefetch for Offloaded Experts",
     "Dunlin adapts its prefetch horizon at run time, cutting stall time to under 0.2% of the baseline."),
    ("2508.00611", "Murre: Fast Sparse Layers",
     "Murre speeds up a sparse vision model by up to 1.45x in training and 2.1x in inference, and reduces "
     "training step time by up to 1.6x on a second model."),
    ("2508.00613", "Pipit: Transformers for Latent Image Diffusion",
     "The largest Pipit-L/4 models beat earlier diffusion models on class-conditional ImageNet at 512x512 and 256x256, "
     "with a state-of-the-art FID of 3.41 at 256x256."),
    ("2508.00614", "Kittiwake: Block Routing",
     "Kittiwake replaces per-token routing with block-level routing that pools the token distributions of a block."),
    ("2508.00615", "Eider: Predictive Expert Caching",
     "The revised version reports up to 60% lower GPU memory use and up to 5x higher throughput than offloading "
     "baselines."),
    ("2508.00612", "Expert Growth in Parallel Decoding",
     "The number of distinct experts touched per step grows almost linearly with the number of tokens decoded "
     "together, which makes decoding memory-bound."),
]

retrieve = papers_fixture(PAPERS)


def test_share_ranges_slashes_and_word_ranges_parse_as_one_quantity():
    (q,) = parse_numbers("it needs only a half to a third of the memory")
    assert (round(q.value, 3), q.high) == (0.333, 0.5)
    (q,) = parse_numbers("between half and nearly three quarters of the peak")
    assert (q.value, q.high, q.bound) == (0.5, 0.75, "approx")
    (q,) = parse_numbers("about 1/200 of the data")
    assert (q.value, q.unit) == (0.005, "%")
    (q,) = parse_numbers("about two to three tokens per second")
    assert (q.value, q.high, q.unit) == (2.0, 3.0, "tokens/s")
    assert [q.text for q in analyse_sentence("Model-XL/2 reaches 2.27").numbers] == ["2.27"]
    # not ranges or shares: a change "from two to four", a routing "top-2/8", a ratio "5/2"
    assert [q.value for q in parse_numbers("throughput rises from two to four tokens per second")] == [2.0, 4.0]
    assert [q.value for q in parse_numbers("top-2/8 routing")] == [2.0, 8.0]
    assert [q.value for q in parse_numbers("a 5/2 ratio")] == [5.0, 2.0]


def test_bounds_of_zero_and_weaker_floors_do_not_break():
    from tasks.claims.number_agree import values_consistent
    from tasks.claims.numbers import normalise

    values_consistent(normalise("more than 0%"), normalise("more than 0.5%"))  # a zero floor raises nothing
    assert values_consistent(normalise("more than half"), normalise("more than 90%"))  # a weaker floor is still true
    assert not values_consistent(normalise("under 1%"), normalise("under 0.1%"))
    assert values_consistent(normalise("under 0%"), normalise("under 0%"))


def test_a_fraction_range_is_what_an_n_fold_cut_leaves(retrieve):
    assert label("When GPU memory bounds throughput, Plover needs only a half to a third of the host memory.",
                 retrieve) == "SUPPORTED"
    assert label("When GPU memory bounds throughput, Plover needs only a fifth to a tenth of the host memory.",
                 retrieve) != "SUPPORTED"


def test_a_served_descriptor_names_the_model_after_it():
    names = {(e.name, e.kind) for e in analyse_sentence("It is 3x faster than a Pylon-served Gamma-3B.").entities}
    assert ("Gamma-3B", "baseline") in names and not any("served" in n for n, _ in names)


def test_the_subject_s_own_paper_outweighs_another_paper_s_match(retrieve):
    assert label("In its first version, Gull ran Model-Z at over 4 tokens per second on a single 40 GB GPU.",
                 retrieve) == "CONTRADICTED"
    assert label("In its first version, Gull ran Model-Z at over 4 tokens per second on a single 16 GB GPU.",
                 retrieve) == "SUPPORTED"


def test_a_version_said_once_qualifies_every_number(retrieve):
    assert label("In the revised version, Bramble cuts unique experts from 50.5 to 13.4 while keeping 98.2% of "
                 "the accuracy.", retrieve) == "CONTRADICTED"
    assert label("In the revised version, Bramble cuts unique experts from 50.5 to 13.4 while keeping 99.1% of "
                 "the accuracy.", retrieve) == "SUPPORTED"


def test_a_list_head_tells_no_item_from_another(retrieve):
    assert label("Tanager's revised version reports a 9.5x speedup for beam search.", retrieve) == "SUPPORTED"
    assert label("Tanager's revised version reports a 9.5x speedup for long prefill.", retrieve) == "CONTRADICTED"


def test_an_unnamed_claim_meets_the_number_in_its_own_slot(retrieve):
    assert label("Converting existing dense checkpoints into sparse ones costs about a fifth of the original "
                 "pre-training compute.", retrieve) == "CONTRADICTED"
    assert label("Converting existing dense checkpoints into sparse ones costs about 4% of the original "
                 "pre-training compute.", retrieve) == "SUPPORTED"
    # a paper that bears out none of the claim's other numbers is not the claim's paper
    assert label("A revised version reports a fall from 50.5 to 13.4 experts with 70% lower GPU memory use.",
                 retrieve) != "CONTRADICTED"


def test_set_aside_and_disputed_terms_are_not_asserted(retrieve):
    assert label("The roofline survey concludes that inference is typically compute-bound rather than memory-bound.",
                 retrieve) == "CONTRADICTED"
    assert label("Rather than pruning experts token by token, Skerry picks one shared high-utility expert set for the "
                 "whole block.", retrieve) != "CONTRADICTED"
    assert label("Most of Wagtail's speed-up comes from its cache manager rather than from its decoding strategy.",
                 retrieve) == "NOT_ENOUGH_INFO"


def test_bounds_percent_speedups_time_cuts_and_growth_orders(retrieve):
    assert label("Dunlin's adaptive prefetch brings stall time down to under 2% of the baseline.", retrieve) == "CONTRADICTED"
    assert label("Dunlin's adaptive prefetch brings stall time down to under 0.2% of the baseline.", retrieve) == "SUPPORTED"
    assert label("Murre accelerates training of the vision model by up to about 45%.", retrieve) == "SUPPORTED"
    assert label("On the second model Murre speeds up training steps by as much as 1.6x.", retrieve) == "SUPPORTED"
    assert label("The number of distinct experts per step levels off, growing only logarithmically with the number of "
                 "tokens decoded together.", retrieve) == "CONTRADICTED"


def test_a_value_at_another_resolution_and_replaced_with(retrieve):
    assert label("Pipit-L/4 sets a state-of-the-art FID of 3.41 on class-conditional ImageNet at 512x512 resolution.",
                 retrieve) == "CONTRADICTED"
    assert label("Pipit-L/4 sets a state-of-the-art FID of 3.41 on class-conditional ImageNet at 256x256.",
                 retrieve) == "SUPPORTED"
    assert label("Kittiwake pools the token distributions of a block into block-level routing.", retrieve) != "CONTRADICTED"
    assert label("Murre's kernels add a further 45% training speed-up on the vision model.", retrieve) != "SUPPORTED"
