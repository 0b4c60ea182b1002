"""Round-11 mechanisms of issue 14, each on papers and claims invented for these tests (no probe item is copied):
two pairings crossed (what is kept where, which figure for which setting), an alternative the claim sets aside
that the evidence asserts, TeX markup in a title naming the paper's subject, and "lower quality" said of a system
whose chunk says quality improves."""

from tasks.claims.check_pairing import crossed
from tasks.claims.entities import title_subject
from tests.claims.conftest import fake_retriever, make_paper, papers_fixture
from tests.claims.conftest import hybrid_label as label

PAPERS = [
    ("2504.00101", "Larkspur: Tiered Weight Placement for Phones",
     "Larkspur targets phones with little memory. It splits the network across tiers: attention weights stay in "
     "on-chip SRAM, while the large feed-forward weights sit in flash and are streamed when needed."),
    ("2504.00102", "Plover: Token Pruning for Vision Transformers",
     "Without retraining, Plover triples the throughput of ViT-B on audio and gives 1.7x for ViT-B on speech, "
     "with a small accuracy drop."),
    ("2504.00103", "Quillwort: A Diffusion Code Model",
     "Quillwort is a masked diffusion code model trained from scratch on permissively licensed code."),
    ("2504.00104", "Bittern: Growing Diffusion Models",
     "Bittern reaches 40B parameters by converting pretrained autoregressive checkpoints rather than training from scratch."),
    ("2504.00105", "s$^3$Serve: Fast Sampling Service",
     "Notes that sampling from diffusion models is slow. s3Serve is a training-free scheduler for sampling requests. "
     "On Wren and Finch it gives large speedups and consistently improves sample quality."),
]


retrieve = papers_fixture(PAPERS)


def test_crossed_pairings_of_terms_and_figures():
    ev = "Plover triples the throughput of ViT-B on audio and gives 1.7x for ViT-B on speech."
    assert crossed("Plover gives 1.7x on audio and triples throughput on speech.", ev)
    assert crossed("Plover triples throughput on audio and gives 1.7x on speech.", ev) is None


def test_swapped_placement_is_contradicted(retrieve):
    swapped = "Larkspur keeps the feed-forward weights in on-chip SRAM and streams the attention weights from flash."
    kept = "Larkspur keeps the attention weights in on-chip SRAM and streams the feed-forward weights from flash."
    assert label(swapped, retrieve) == "CONTRADICTED"
    assert label(kept, retrieve) != "CONTRADICTED"


def test_swapped_figures_for_two_settings_are_contradicted(retrieve):
    assert label("Without retraining, Plover speeds up ViT-B by 1.7x on audio and triples it on speech.",
                 retrieve) == "CONTRADICTED"
    assert label("Without retraining, Plover triples ViT-B throughput on audio and gives 1.7x on speech.",
                 retrieve) == "SUPPORTED"


def test_claim_setting_aside_what_the_evidence_asserts(retrieve):
    assert label("Quillwort was built by converting a pretrained autoregressive model instead of being trained from "
                 "scratch.", retrieve) == "CONTRADICTED"
    assert label("Bittern reaches 40B parameters by training from scratch instead of converting pretrained "
                 "autoregressive checkpoints.", retrieve) == "CONTRADICTED"
    assert label("Rather than training from scratch, Bittern reaches 40B parameters by converting pretrained "
                 "autoregressive checkpoints.", retrieve) == "SUPPORTED"


def test_tex_markup_in_a_title_names_the_subject(retrieve):
    assert title_subject("s$^3$Serve: Fast Sampling Service") == ("s3Serve",)
    assert title_subject("$\\mu$Scale: Tuning Across Widths") == ("muScale",)
    assert label("s3Serve speeds up sampling on Wren and Finch but at the cost of lower sample quality.",
                 retrieve) == "CONTRADICTED"


def test_reporting_words_are_not_content_a_claim_must_cover():
    papers = [make_paper("2504.00106", "Kiln: Shared Attention State Caching",
                         "Kiln caches attention states across requests and keeps decoding memory-bound.")]
    retrieve = fake_retriever(papers)
    assert label("According to the authors' analysis, the Kiln study actually finds that Kiln caches attention "
                 "states.", retrieve) == "SUPPORTED"
    assert label("Kiln compresses attention states with learned codebooks.", retrieve) == "NOT_ENOUGH_INFO"


def test_a_claim_may_join_the_two_chunks_of_one_abstract():
    filler = " ".join(f"Section {w} describes the evaluation protocol of the benchmark in detail." for w in
                      ("one", "two", "three", "four", "five", "six", "seven"))
    abstract = ("Sorrel is a training-free scheduler for speculative decoding requests. " + filler +
                " On Wren and Finch it consistently shortens queueing delays.")
    retrieve = fake_retriever([make_paper("2504.00107", "Sorrel: Request Scheduling", abstract)])
    assert len(retrieve.paper_chunks("2504.00107")) >= 2
    assert label("Sorrel, a training-free scheduler for speculative decoding requests, consistently shortens queueing "
                 "delays on Wren and Finch.", retrieve) == "SUPPORTED"


def test_two_figures_each_beside_another_value_of_the_others_kind():
    papers = [make_paper("2504.00108", "Wagtail: Sparse Expert Scaling",
                         "At 12B, Wagtail matches Pico-LM 9B with about 45% of the compute, and at 90B it matches "
                         "Pico-LM 60B with about 31% of the compute.")]
    retrieve = fake_retriever(papers)
    assert label("At the 90B scale, Wagtail matches Pico-LM 60B while using about 45% of its compute.",
                 retrieve) == "CONTRADICTED"
    assert label("At the 90B scale, Wagtail matches Pico-LM 60B while using about 31% of its compute.",
                 retrieve) == "SUPPORTED"


def test_dense_against_sparse_is_an_opposite_regime():
    papers = [make_paper("2504.00109", "Osprey: Expert Caching on Laptops",
                         "Osprey targets laptops serving one user, where expert activations are highly sparse and a "
                         "few experts are reused across decoding steps.")]
    retrieve = fake_retriever(papers)
    assert label("Osprey targets laptops serving one user, where expert activations are dense.",
                 retrieve) == "CONTRADICTED"


def test_respectively_lists_share_their_slot_and_keep_their_order():
    papers = [make_paper("2504.00110", "Avocet: Fast Sparse Decoding",
                         "Avocet achieves up to 3.4x and 1.6x speedup over Pico-LM on laptops and phones, respectively.")]
    retrieve = fake_retriever(papers)
    assert label("Compared with Pico-LM, Avocet delivers close to a 3.4x speedup on laptops and a little over 1.6x on "
                 "phones.", retrieve) == "SUPPORTED"
    assert label("Avocet reaches up to 3.4x speedup over Pico-LM on phones and 1.6x on laptops.", retrieve) == "CONTRADICTED"


def test_dense_and_sparse_of_different_things_do_not_clash():
    # "sparse activation" against "an equivalent dense layer" are two things, not one thing said both ways
    # (CONTRADICTED while dense/sparse were opposite regimes of any two sentences)
    retrieve = fake_retriever([make_paper(
        "2504.00303", "Gadwall: Why MoE Decoding Is Memory-Bound",
        "Gadwall shows that MoE decoding is memory-bound, because the load of each expert grows more slowly than in "
        "an equivalent dense layer.")])
    assert label("Gadwall shows that MoE decoding is memory-bound, which cancels the savings that sparse activation "
                 "was meant to bring.", retrieve) != "CONTRADICTED"
