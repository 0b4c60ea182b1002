"""Round-3 mechanisms of issue 14, each on papers and claims invented for these tests (no probe item is copied):
spelled ranges and durations, GPU architectures as hardware, comparisons in any inflection, pronouns across
chunks, papers described by title, the "negation" check, parallel lists crossed only by the claim's own pairs,
and a figure against other baselines not refuting the claim's comparison."""

import pytest

from tasks.claims.context import analyse_sentence
from tasks.claims.rivals import same_hardware
from tasks.claims.number_agree import values_consistent
from tasks.claims.numbers import parse_numbers
from tasks.claims.entities import hardware_mentions
from tests.claims.conftest import fake_retriever, make_paper, papers_fixture
from tests.claims.conftest import hybrid_label as label

PAPERS = [
    ("2503.00031", "Marlow: Cache Reuse for Diffusion Decoding",
     "Marlow reuses key-value states across denoising steps and makes decoding 3-7x faster with no retraining."),
    ("2503.00032", "Profiling the Vireo Accelerator Cluster",
     "The authors profile kernel latency on a V100 testbed. Training the Quarry-9B model took 6 days on 64 V100 GPUs."),
    ("2503.00033", "Dissecting the NVIDIA Blackwell Architecture with Microbenchmarks",
     "The study compares tensor-core throughput across Blackwell, Hopper and Ampere. FP4 matrix multiplication "
     "runs 1.8x faster than FP8 in the reported microbenchmarks."),
    ("2503.00034", "Sable: Score Matching for Discrete Text",
     "Sable lowers perplexity by 30-60% against earlier discrete diffusion models and is competitive with "
     "autoregressive models, outperforming Pico-LM."),
    ("2503.00035", "Tessellate: A Diffusion Language Model",
     "Tessellate is trained from scratch as a masked diffusion model and matches Wren 8B on reading tasks. "
     "After instruction tuning it follows multi-turn prompts well. It also handles reversed recall, surpassing "
     "Oriole-4 on a reversed list task."),
    ("2503.00036", "Heron: Adaptive Expert Prefetching",
     "Rather than prefetching experts with a static lookahead window, Heron tunes its lookahead from measured "
     "transfer bandwidth, which cuts stall time by 41%."),
    ("2503.00037", "Kestrel: Batch-Aware Expert Routing",
     "On Finch-20B and Finch-200B at batch size 8, expert-layer latency falls by 33% and 11% respectively."),
    ("2503.00038", "Ptarmigan: Module Batching for MoE Throughput",
     "Ptarmigan reaches 5-12x higher throughput than offloading systems such as Lumen and even larger gains over "
     "interactive engines such as Vesper."),
]


retrieve = papers_fixture(PAPERS)


def test_spelled_ranges_and_durations_parse():
    (q,) = parse_numbers("between four and nine times faster")
    assert (q.value, q.high, q.unit) == (4.0, 9.0, "x")
    (q,) = parse_numbers("two to five times")
    assert (q.value, q.high) == (2.0, 5.0)
    weeks, days = parse_numbers("about three weeks, not 21 days")
    assert weeks.unit == days.unit == "s" and values_consistent(weeks, days)
    assert not values_consistent(parse_numbers("two weeks")[0], parse_numbers("6 days")[0])


def test_architectures_are_hardware_and_match_their_gpus():
    names = [e.name for e in hardware_mentions("a V100 cluster and Hopper GPUs, not P100")]
    assert names == ["V100", "HOPPER", "P100"]
    h100, hopper, volta = (hardware_mentions(t)[0] for t in ("H100", "Hopper", "Volta"))
    assert same_hardware(h100, hopper) and not same_hardware(h100, volta)


def test_spelled_range_supports_a_paraphrase(retrieve):
    assert label("Marlow speeds up decoding between three and seven times without retraining.", retrieve) == "SUPPORTED"


def test_wrong_duration_and_wrong_gpu_are_contradicted(retrieve):
    assert label("Training the Quarry-9B model took about six weeks on 64 V100 GPUs.", retrieve) == "CONTRADICTED"
    assert label("Quarry-9B was trained in 6 days on 64 V100 GPUs.", retrieve) == "SUPPORTED"


def test_architecture_comparison_with_the_wrong_generations(retrieve):
    text = "The Blackwell microbenchmark study compares tensor-core throughput of Blackwell against Volta and Turing."
    assert label(text, retrieve) == "CONTRADICTED"


def test_reversed_comparison_in_another_inflection(retrieve):
    assert label("Sable lowers perplexity by 30-60% against earlier discrete diffusion models but still trails Pico-LM.",
                 retrieve) == "CONTRADICTED"


def test_pronoun_refers_to_the_papers_subject_not_its_baseline(retrieve):
    assert label("Tessellate falls behind Oriole-4 on a reversed list task.", retrieve) == "CONTRADICTED"


def test_claim_asserting_the_set_aside_alternative(retrieve):
    assert label("Heron prefetches experts with a static lookahead window.", retrieve) == "CONTRADICTED"
    assert label("Heron tunes its prefetch lookahead from measured transfer bandwidth.", retrieve) == "SUPPORTED"


def test_parallel_lists_follow_the_claims_own_pairing(retrieve):
    ok = "At batch size 8, Kestrel lowers expert-layer latency by 33% for Finch-20B and by 11% for Finch-200B."
    swapped = "At batch size 8, Kestrel lowers expert-layer latency by 11% for Finch-20B and by 33% for Finch-200B."
    assert label(ok, retrieve) == "SUPPORTED"
    assert label(swapped, retrieve) == "CONTRADICTED"


def test_a_figure_against_other_baselines_does_not_refute_another_comparison(retrieve):
    # 5-12x is over offloading systems; nothing gives a figure over Vesper
    assert label("Ptarmigan's throughput exceeds Vesper's by more than 40x.", retrieve) == "NOT_ENOUGH_INFO"
    assert label("Ptarmigan reaches 5-12x higher throughput than offloading systems such as Lumen.", retrieve) == "SUPPORTED"


# Round 4 (probe7 opened for development); again invented papers and claims.
PAPERS4 = [
    ("2503.00041", "Scaling Inference for the Orca-900B Model",
     "The system partitions Orca-900B over TPU v5 slices. With a 4096-token context it reaches 31 ms per token in "
     "low-batch int4 generation."),
    ("2503.00042", "Sparse Expert Layers at Scale",
     "Gated expert layers with up to 90 billion parameters beat earlier models on translation at lower "
     "computational cost."),
    ("2503.00043", "Zephyr-MoE: Fast Serving",
     "Zephyr-MoE offers a 5.1x lower inference latency than dense serving."),
    ("2503.00044", "Gannet: Faster Attention",
     "Gannet trains faster: 2x on Pico-LM (length 2K) and 3.3x on Path Tasks. Its fused kernel runs two and a half "
     "times faster than the baseline kernel on 1,024 GPUs."),
    ("2503.00045", "Mind the Cache Gap",
     "Large-batch decoding stays memory-bound: DRAM bandwidth saturation, not compute, flattens throughput."),
]


@pytest.fixture(scope="module")
def retrieve4():
    return fake_retriever([make_paper(*p) for p in PAPERS4])


def test_hardware_named_in_another_sentence_of_the_abstract(retrieve4):
    assert label("Orca-900B reaches 31 ms per token with a 4096-token context on H100 GPUs.", retrieve4) == "CONTRADICTED"
    assert label("Orca-900B reaches 31 ms per token with a 4096-token context on TPU v5.", retrieve4) == "SUPPORTED"


def test_opposite_comparative_beside_a_matched_number(retrieve4):
    assert label("Gated expert layers of up to 90 billion parameters beat earlier models on translation, though at a "
                 "higher computational cost.", retrieve4) == "CONTRADICTED"


def test_praise_word_gives_latency_no_direction(retrieve4):
    assert label("Zephyr-MoE delivers a 5.1x inference latency improvement over dense serving.", retrieve4) == "SUPPORTED"


def test_number_whose_clause_names_another_setting(retrieve4):
    # a real number given to the wrong setting: never SUPPORTED (here the owner logic leaves it unsettled)
    assert label("Gannet speeds up Pico-LM training at length 2K by 3.3x.", retrieve4) in ("CONTRADICTED", "NOT_ENOUGH_INFO")
    assert label("Gannet speeds up Pico-LM training at length 2K by 2x.", retrieve4) == "SUPPORTED"


def test_compound_spelled_numbers(retrieve4):
    (q,) = parse_numbers("a fivefold gain")
    assert (q.value, q.unit) == (5.0, "x")
    assert label("Gannet's fused kernel is 2.5x faster than the baseline kernel on 1,024 GPUs.", retrieve4) == "SUPPORTED"


def test_negation_reaches_the_end_of_its_clause(retrieve4):
    assert label("The throughput plateau of large-batch decoding comes from DRAM bandwidth saturation, not from a "
                 "move into the compute-bound regime.", retrieve4) == "SUPPORTED"


# Round 5 (probe8 opened for development); invented papers and claims.
PAPERS5 = [
    ("2503.00051", "Paddock: PagedKV Serving",
     "Paddock improves throughput by 3-5x over Lark and Wren, with larger gains for longer prompts and bigger models."),
    ("2503.00052", "Rill-2: Fast Coding Models",
     "On coding tasks the 70B model decodes at 740 tokens per second on MBPP, 655 on HumanEval and 590 on LiveCodeBench."),
    ("2503.00053", "Skerry: Serving at Scale",
     "For Skerry-300B with a 4096-token context, low-batch generation takes 25 ms per token in int8."),
    ("2503.00054", "Brill: Token Pruning for Vision Transformers",
     "Brill roughly triples image throughput for ViT-B while costing only 0.4% accuracy."),
    ("2503.00055", "Dissecting the Ampere Tensor Core",
     "FP16 tensor-core throughput is nearly double that of TF32 in the microbenchmarks."),
]


@pytest.fixture(scope="module")
def retrieve5():
    return fake_retriever([make_paper(*p) for p in PAPERS5])


def test_advantage_trend_reversed(retrieve5):
    assert label("Paddock's throughput advantage over Lark and Wren shrinks for longer prompts and bigger models.",
                 retrieve5) == "CONTRADICTED"
    assert label("Paddock's throughput advantage over Lark and Wren grows for longer prompts.", retrieve5) == "SUPPORTED"


def test_listed_numbers_take_the_unit(retrieve5):
    assert analyse_sentence("It reaches 740 tokens per second on MBPP, 655 on HumanEval.").numbers[1].unit == "tokens/s"
    assert label("The 70B Rill-2 model decodes at 740 tokens per second on HumanEval.", retrieve5) != "SUPPORTED"


@pytest.mark.xfail(reason="known gap: a listed number's slot lacks the words of its list head ('655 on HumanEval'), "
                          "so the head's value is taken as the claim's slot; written before the fix, left failing")
def test_listed_number_paraphrase_is_supported(retrieve5):
    assert label("The 70B Rill-2 model decodes at about 650 tokens per second on HumanEval.", retrieve5) == "SUPPORTED"


def test_latency_per_token_implies_tokens_per_second(retrieve5):
    assert label("Skerry-300B generates about 40 tokens per second at low batch with a 4096-token context in int8.",
                 retrieve5) == "SUPPORTED"


def test_no_direction_across_a_contrast(retrieve5):
    assert label("Brill about triples ViT-B image throughput while costing only 0.4% accuracy.", retrieve5) == "SUPPORTED"


def test_exactly_is_not_settled_by_nearly(retrieve5):
    assert label("On Ampere, FP16 tensor-core throughput is exactly twice that of TF32.", retrieve5) == "NOT_ENOUGH_INFO"


# Round 6 (probe9 opened for development); invented papers and claims.
PAPERS6 = [
    ("2503.00061", "Pipit: Caching for Diffusion Decoding",
     "Pipit speeds up Wren and Lark by up to 3.9x and consistently improves generation quality."),
    ("2503.00062", "Stint: Adaptive Expert Prefetch",
     "Instead of a fixed prefetch distance, Stint adapts its lookahead at run time, keeping stalls under 0.2% of the baseline."),
    ("2503.00063", "Tern-MoE: An Open Sparse Model",
     "Tern-MoE routes each token to 4 of 32 experts per layer and was pretrained on three trillion tokens."),
    ("2503.00064", "Knot: Memory-Lean Offloading",
     "Knot cuts GPU memory use by up to 81% and delivers up to six times the throughput of offloading baselines."),
]


@pytest.fixture(scope="module")
def retrieve6():
    return fake_retriever([make_paper(*p) for p in PAPERS6])


def test_quality_drop_against_quality_gain(retrieve6):
    assert label("Pipit speeds up Wren and Lark by up to 3.9x, but at the cost of a consistent drop in generation quality.",
                 retrieve6) == "CONTRADICTED"
    assert label("Pipit speeds up Wren and Lark by up to 3.9x with no drop in generation quality.", retrieve6) == "SUPPORTED"


def test_hyphenated_set_aside_alternative(retrieve6):
    assert label("Stint prefetches experts at a fixed-distance lookahead, keeping stalls under 0.2% of the baseline.",
                 retrieve6) == "CONTRADICTED"


def test_word_number_with_magnitude(retrieve6):
    assert label("Tern-MoE sends each token to 4 of its 32 experts and saw 3 trillion pretraining tokens.", retrieve6) == "SUPPORTED"


def test_direction_does_not_carry_into_a_clause_with_its_own_verb(retrieve6):
    assert label("Knot trims GPU memory by as much as 81% and delivers up to six times the throughput of offloading "
                 "baselines.", retrieve6) == "SUPPORTED"


# Round 7 (probe10 opened for development); invented papers and claims.
PAPERS7 = [
    ("2503.00071", "Loam-2 Technical Report", "Loam-2 was pre-trained on more than 9 trillion tokens."),
    ("2503.00072", "Sedge: Token Dropping for ViTs",
     "Dropping 50% of the input tokens reduces FLOPs by 28-34% with under 0.4% accuracy loss."),
    ("2503.00073", "Fescue: KV Reuse for Diffusion LMs",
     "Fescue makes inference 3-8x faster without training. It uses six cache slots per layer."),
]


@pytest.fixture(scope="module")
def retrieve7():
    return fake_retriever([make_paper(*p) for p in PAPERS7])


def test_scale_error_in_a_lower_bound(retrieve7):
    assert label("Loam-2 was pre-trained on more than 9 billion tokens.", retrieve7) == "CONTRADICTED"
    assert label("Loam-2 was pre-trained on over 9 trillion tokens.", retrieve7) == "SUPPORTED"


def test_one_evidence_number_cannot_settle_two_claimed_numbers(retrieve7):
    assert label("Dropping 50% of the input tokens cuts FLOPs by about half with under 0.4% accuracy loss.",
                 retrieve7) == "CONTRADICTED"


def test_factor_range_and_spelled_counts_are_no_rivals(retrieve7):
    assert label("Fescue speeds up inference by a factor of three to eight without any training.", retrieve7) == "SUPPORTED"
    assert label("Fescue's speedup holds when the block grows to 128 tokens.", retrieve7) == "NOT_ENOUGH_INFO"
    assert label("Fescue keeps 64 cache slots per layer.", retrieve7) == "CONTRADICTED"


# Round 8 (probe11 opened for development); invented papers and claims.
PAPERS8 = [
    ("2503.00081", "Wicket: Sparse Experts for Small Devices",
     "Wicket routes each token to 4 of the 32 experts in a layer and was trained on 2 trillion tokens."),
    ("2503.00082", "Culvert: Speculative Sampling for Seq2Seq",
     "On Mira-XL the method gives a 3x-4x speedup over the standard Mira implementation with identical outputs."),
    ("2503.00083", "Sluice: Parallel Expert Layers", "Sluice runs a single expert layer 3.1x faster on 8 H100s."),
]


@pytest.fixture(scope="module")
def retrieve8():
    return fake_retriever([make_paper(*p) for p in PAPERS8])


def test_a_share_implied_by_a_count_within_a_count(retrieve8):
    assert label("Wicket activates one eighth of its 32 experts per layer for each token.", retrieve8) == "SUPPORTED"
    assert label("Wicket activates a quarter of its 32 experts per layer for each token.", retrieve8) != "SUPPORTED"


def test_suspended_hyphen_range(retrieve8):
    assert label("Applied to Mira-XL, the method gives a three- to four-fold speedup over the standard Mira implementation.",
                 retrieve8) == "SUPPORTED"


def test_plural_gpu_names_are_hardware(retrieve8):
    assert label("Sluice runs a single expert layer 3.1x faster on 8 H100s.", retrieve8) == "SUPPORTED"
    assert label("Sluice runs a single expert layer 3.1x faster on 8 A100s.", retrieve8) == "CONTRADICTED"


# Round 9 (probe12 opened for development); invented papers and claims.
PAPERS9 = [
    ("2503.00091", "Bittern: Offloaded MoE Batching",
     "For Vole-8x7B on a single L4 GPU it achieves up to 6.1x higher throughput than offloading systems. It also "
     "serves larger models such as Vole-8x22B on 2-4 L4 GPUs."),
    ("2503.00092", "Plover-2B: A Small Sparse Model",
     "Plover-2B holds about 9B parameters but uses roughly 2B per token."),
]


@pytest.fixture(scope="module")
def retrieve9():
    return fake_retriever([make_paper(*p) for p in PAPERS9])


def test_gpu_count_from_another_sentence_of_the_paper(retrieve9):
    assert label("Beyond Vole-8x7B on one L4, Bittern also serves Vole-8x22B on between two and four L4 GPUs.",
                 retrieve9) == "SUPPORTED"
    assert label("Bittern serves Vole-8x22B on eight L4 GPUs.", retrieve9) == "CONTRADICTED"


def test_parameter_share_paraphrase(retrieve9):
    assert label("Plover-2B uses roughly 2B parameters per token.", retrieve9) == "SUPPORTED"
    assert label("Plover-2B uses roughly 9B parameters per token.", retrieve9) == "CONTRADICTED"


# Round 10 (probe13 opened for development); invented papers and claims.
PAPERS10 = [
    ("2503.00101", "Gull-2: Open Foundation Models",
     "Gull-2 is pre-trained on 3 trillion tokens, 50% more than Gull, and doubles its context length."),
    ("2503.00102", "Ibis: Sparse Experts that Beat Dense Models",
     "Ibis 12B matches Gull-2 13B with 35% of the compute."),
    ("2503.00103", "Auk: CPU-Assisted Expert Execution",
     "Auk runs Kite-8x7B at more than 4 tokens per second on a single GPU with 24 GB of memory."),
]


@pytest.fixture(scope="module")
def retrieve10():
    return fake_retriever([make_paper(*p) for p in PAPERS10])


def test_quadruples_is_a_multiple(retrieve10):
    assert label("Gull-2 was pre-trained on 3 trillion tokens and quadruples the context length of Gull.",
                 retrieve10) == "CONTRADICTED"
    assert label("Gull-2 was pre-trained on 3 trillion tokens and doubles the context length of Gull.", retrieve10) == "SUPPORTED"


def test_another_papers_baseline_sentence_supports_nothing(retrieve10):
    # 35% is Ibis's compute share against Gull-2 13B, not anything about Gull-2's own training
    assert label("Gull-2 uses 35% more pre-training tokens than Gull.", retrieve10) != "SUPPORTED"


def test_spelled_number_with_a_unit(retrieve10):
    assert label("Auk runs Kite-8x7B at over four tokens per second on one 24 GB GPU.", retrieve10) == "SUPPORTED"
