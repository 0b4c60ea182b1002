"""Round-13 mechanism of issue 14, on papers and claims invented for these tests (no probe item is copied): a
sentence that lists results each "for" its own case gives a value for that case only; a claim that puts the value
on another listed case is contradicted, one that names the value's own case is borne out."""

from tasks.claims.check_numbers import other_for_slot
from tests.claims.conftest import papers_fixture
from tests.claims.conftest import rules_label as label

PAPERS = [
    ("2506.00301", "Plover: Sparse Routing for Speech and Vision MoEs",
     "Plover raises serving throughput by 3.4x for speech recognition, 2.1x for image captioning and 1.6x for "
     "video retrieval over dense routing."),
]


retrieve = papers_fixture(PAPERS)


def test_value_put_on_another_listed_case_is_contradicted(retrieve):
    assert label("Plover raises the serving throughput of video retrieval by 3.4x over dense routing.",
                 retrieve) == "CONTRADICTED"
    assert label("Plover's largest gain over dense routing, 3.4x, is obtained for image captioning.",
                 retrieve) == "CONTRADICTED"


def test_value_on_its_own_case_is_supported(retrieve):
    assert label("Plover raises serving throughput by 3.4x for speech recognition over dense routing.",
                 retrieve) == "SUPPORTED"
    assert label("Plover improves speech recognition serving throughput 3.4x and image captioning 2.1x over dense "
                 "routing.", retrieve) == "SUPPORTED"


def test_for_slot_needs_a_list():
    from tasks.claims.context import analyse_sentence
    s = type("S", (), {"facts": analyse_sentence("Plover raises serving throughput by 3.4x for speech recognition.")})()
    e = s.facts.numbers[0]
    assert other_for_slot("Plover raises video throughput by 3.4x.", s, e) is None
