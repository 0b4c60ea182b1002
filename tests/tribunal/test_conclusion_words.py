"""A comparative in the conclusion is read even when a qualifier stands before 'than'."""

from tasks.tribunal.checks.conclusion import _said

SLOWER = ["slower than", "higher latency than", "behind"]


def test_qualified_comparatives_are_read():
    assert _said("it has higher latency per committed token than llama-2-70b", SLOWER) == "higher latency than"
    assert _said("the moe model is slower on every gpu than the dense baseline", SLOWER) == "slower than"


def test_other_directions_and_partial_words_are_not():
    assert _said("it has lower latency per committed token than llama-2-70b", SLOWER) is None
    assert _said("nothing is left behindhand", SLOWER) is None
