"""Check "verbatim" on an invented abstract: a sentence read against the chunk that states it is SUPPORTED, even
where the rules would misread it (a belief the paper reports and then refutes); a paraphrase is still checked."""

from tasks.claims.findings import Finding, decide
from tasks.claims.hybrid import HybridVerifier
from tests.claims.conftest import fake_retriever, make_paper

ABSTRACT = ("Studies why batching gains flatten beyond a certain batch size in LLM inference, a plateau usually "
            "attributed to a shift into the compute-bound regime. A profiling study of Pintail instead shows that "
            "large-batch decoding stays memory-bound.")


def test_a_sentence_of_its_own_chunk_is_supported_and_a_reversal_is_not():
    retrieve = fake_retriever([make_paper("2504.00301", "Pintail: Why Batching Plateaus", ABSTRACT)])
    verifier = HybridVerifier(paper_chunks=retrieve.paper_chunks)
    own = ("Studies why batching gains flatten beyond a certain batch size in LLM inference, a plateau usually "
           "attributed to a shift into the compute-bound regime.")
    verdict = verifier.verify(own, retrieve, "2504.00301")
    assert verdict.label == "SUPPORTED" and "[verbatim]" in verdict.rationale and verdict.faithful
    assert verifier.verify("Pintail's profiling shows that large-batch decoding becomes compute-bound.",
                           retrieve).label == "CONTRADICTED"


def test_states_outweighs_a_contradiction_and_short_phrases_do_not_count():
    states = Finding("verbatim", "states", "p#0 states the claim word for word", "p#0", 0.9)
    contra = Finding("numbers", "contradict", "claim gives '800' where p#0 says '1,100'", "p#0", 0.9)
    assert decide([contra, states])[0] == "SUPPORTED"
    retrieve = fake_retriever([make_paper("2504.00302", "Smew: Small Caches", "Smew is fast. It caches experts.")])
    assert "[verbatim]" not in HybridVerifier(paper_chunks=retrieve.paper_chunks).verify("Smew is fast.", retrieve).rationale
