"""Round-2 mechanisms of issue 14, each on claims written for these tests (no probe item is copied):
the "setting" check (interposed name, absent setting, crossed parallel lists), opposite comparatives,
swapped comparison roles, ordinal fractions and "Nx fewer" as a remaining share."""

import pytest

from tasks.claims.align import align
from tasks.claims.base import as_claim
from tasks.claims.check_direction import comparative_clash
from tasks.claims.context import analyse_sentence
from tasks.claims.evidence import expand, gather
from tasks.claims.findings import REGISTRY
from tasks.claims.lexicon import antonyms
from tasks.claims.derived import derived_quantities
from tasks.claims.numbers import parse_numbers
import tasks.claims.hybrid  # noqa: F401 - registers the checks
from tests.claims.conftest import papers_fixture
from tests.claims.conftest import hybrid_label as label

PAPERS = [
    ("2502.00021", "Quillon: Expert Pruning for Sparse Models",
     "Pruned to 9B, Quillon performs comparably to Harrow 13B with about 55% of the compute, and an early 70B "
     "prototype matches Brantel 40B at about 31.5% of its compute."),
    ("2502.00022", "Ostrava: Speculative Expert Decoding",
     "On the Corvid-20B MoE model, Ostrava reaches up to 2.6x speedup over the vanilla decoder (about 2.31x on "
     "average across tasks)."),
    ("2502.00023", "Lanyard: Scalable Expert Parallelism",
     "Lanyard delivers 3.4x and 6.2x speedups for one expert layer on 32 and 1,024 H100 GPUs over the prior "
     "state of the art."),
    ("2502.00024", "Mistle: Expert Caching at Small Batch",
     "On Fenwick-8B and Fenwick-70B at batch size 4, decode latency drops by 27% and 12% respectively."),
    ("2502.00025", "Pellucid: A Serving Engine for Diffusion LMs",
     "Pellucid is 4-6x faster than the autoregressive Garnet-2B served with a standard engine."),
    ("2502.00026", "Tarn-MoE: A Sparse Diffusion Language Model",
     "Tarn-MoE performs comparably to Garnet-2B while using fewer active parameters. "
     "Scaling experiments show that larger models tolerate longer blocks without quality loss."),
]


retrieve = papers_fixture(PAPERS)


def setting_kinds(text, retrieve):
    hits, _ = gather(text, retrieve, 8)
    al = align(as_claim(text), expand(text, hits, retrieve.paper_chunks), None)
    return {f.kind for f in REGISTRY["setting"]()(al)}


def test_value_of_a_later_pair_is_not_the_first_pairs(retrieve):
    # 31.5% belongs to the 70B-vs-Brantel comparison, which sits between Harrow 13B and the number
    assert setting_kinds("Quillon 9B matches Harrow 13B while using only about 31.5% of its compute.", retrieve) == {"contradict"}
    assert label("Quillon 9B matches Harrow 13B while using only about 31.5% of its compute.", retrieve) == "CONTRADICTED"
    assert setting_kinds("Quillon 9B matches Harrow 13B while using about 55% of its compute.", retrieve) == set()


def test_value_measured_on_a_model_the_claim_does_not_name(retrieve):
    claim = "Ostrava's average speedup of about 2.3x was measured on the Plover-7B model."
    assert setting_kinds(claim, retrieve) == {"contradict"}
    assert label(claim, retrieve) != "SUPPORTED"
    assert setting_kinds("Ostrava's average speedup of about 2.3x was measured on the Corvid-20B model.", retrieve) == set()


def test_parallel_lists_pair_by_position(retrieve):
    assert label("Lanyard's 6.2x speedup for one expert layer was measured on 32 H100 GPUs.", retrieve) == "CONTRADICTED"
    assert setting_kinds("Lanyard's 3.4x speedup for one expert layer was measured on 32 H100 GPUs.", retrieve) == set()


def test_a_list_of_names_does_not_scope_out_its_members(retrieve):
    # "Fenwick-8B and Fenwick-70B ... 27% and 12% respectively": Fenwick-70B is in one list with Fenwick-8B
    assert setting_kinds("Mistle cuts decode latency on Fenwick-8B at batch size 4 by 27%.", retrieve) == set()
    assert label("Mistle cuts decode latency on Fenwick-8B at batch size 4 by 27%.", retrieve) == "SUPPORTED"
    assert label("Mistle cuts decode latency on Fenwick-8B at batch size 4 by 12%.", retrieve) == "CONTRADICTED"


def test_swapped_comparison_roles_are_contradicted(retrieve):
    assert label("The autoregressive Garnet-2B runs 4-6x faster than Pellucid.", retrieve) == "CONTRADICTED"
    assert label("Pellucid runs 4-6x faster than the autoregressive Garnet-2B.", retrieve) == "SUPPORTED"


def test_opposite_comparatives_on_the_same_thing():
    pairs = antonyms("comparative_antonyms")
    assert comparative_clash("Kestrel needs more trainable parameters than Bream.",
                             "Kestrel matches Bream while using fewer trainable parameters.", pairs)
    assert comparative_clash("Smaller models handle longer contexts.", "Larger models handle longer contexts.", pairs)
    assert not comparative_clash("Kestrel uses fewer trainable parameters.", "Kestrel uses fewer trainable parameters.", pairs)
    assert not comparative_clash("Kestrel is not larger than Bream.", "Bream has larger layers.", pairs)


def test_opposite_comparative_contradicts_a_number_free_claim(retrieve):
    assert label("Tarn-MoE matches Garnet-2B but needs more active parameters.", retrieve) == "CONTRADICTED"


@pytest.mark.parametrize("text,value", [("one twentieth of the data", 0.05), ("a hundredth of the cost", 0.01),
                                        ("one five-hundredth of the tokens", 0.002), ("a third of the memory", 1 / 3)])
def test_ordinal_fractions(text, value):
    (q,) = parse_numbers(text)
    assert q.unit == "%" and q.value == pytest.approx(value)


def test_ordinal_word_without_quantity_is_not_a_number():
    assert parse_numbers("the twentieth layer") == [] or all(q.kind != "fraction" for q in parse_numbers("the twentieth layer"))


def test_n_fold_fewer_is_a_remaining_share():
    fewer, faster = analyse_sentence("it needs 25x fewer sampling steps"), analyse_sentence("it runs 25x faster")
    shares = [q for q in derived_quantities(fewer.numbers, fewer.text) if q.unit == "%"]
    assert any(q.value == pytest.approx(0.04) for q in shares)
    assert not derived_quantities(faster.numbers, faster.text)
