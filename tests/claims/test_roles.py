"""Check "roles" on papers and claims invented for these tests (no probe item is copied): a claim that gives each of
two named variants the other's described behaviour is contradicted; the same words under the right names, or two
names that are not side-by-side variants (a baseline, a setting), are left to the other checks."""

from tasks.claims.check_roles import swapped_roles
from tasks.claims.context import analyse_sentence
from tests.claims.conftest import papers_fixture
from tests.claims.conftest import rules_label as label

PAPERS = [
    ("2509.00601", "Osprey: Two Eviction Policies for Expert Caches",
     "Osprey caches MoE experts in GPU memory under two policies. Osprey-Pin keeps the most popular experts resident "
     "and never evicts them during a request, while Osprey-Flow streams experts through a small ring buffer and "
     "trades extra PCIe traffic for a much smaller memory footprint."),
]


retrieve = papers_fixture(PAPERS)


def test_swapped_variants_are_contradicted(retrieve):
    assert label("Osprey-Flow keeps the most popular experts resident and never evicts them, whereas Osprey-Pin streams "
                 "experts through a small ring buffer for a smaller memory footprint.", retrieve) == "CONTRADICTED"


def test_right_variants_are_not_contradicted(retrieve):
    assert label("Osprey-Pin keeps the most popular experts resident and never evicts them, whereas Osprey-Flow streams "
                 "experts through a small ring buffer for a smaller memory footprint.", retrieve) != "CONTRADICTED"


def test_names_not_side_by_side_are_not_roles():
    evidence = analyse_sentence("On Alpha-7B and Beta-8B it is 3x faster than prior systems (Gamma, Delta-Serve).")
    claim = analyse_sentence("Running Alpha-7B on one GPU, Delta-Serve is 3x faster than prior systems.")
    assert swapped_roles(claim, evidence) is None
