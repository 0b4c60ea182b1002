import pytest

from tasks.claims.number_agree import units_compatible, values_consistent
from tasks.claims.numbers import normalise, parse_numbers


@pytest.mark.parametrize("text", ["5.86×", "5.86x", "5.86 times", "5.86-fold", "5.86 ×"])
def test_multiples_normalise_alike(text):
    q = normalise(text)
    assert (q.value, q.unit, q.kind) == (5.86, "x", "multiple")


def test_percent_is_a_fraction_and_matches_a_decimal():
    pct, frac = normalise("38%"), normalise("0.38")
    assert pct.value == pytest.approx(0.38) and pct.unit == "%"
    assert units_compatible(pct, frac) and values_consistent(pct, frac)
    assert not values_consistent(pct, normalise("0.48"))


@pytest.mark.parametrize("text,value,unit", [
    ("1,100 tokens per second", 1100, "tokens/s"), ("892 tokens/s", 892, "tokens/s"),
    ("740 TFLOPs/s", 7.4e14, "FLOP/s"), ("3.35 TB/s", 3.35e12, "B/s"), ("80GB", 8e10, "B"),
    ("16 GB", 1.6e10, "B"), ("29 ms", 0.029, "s"), ("1.4B", 1.4e9, ""),
])
def test_units(text, value, unit):
    q = normalise(text)
    assert q.value == pytest.approx(value) and q.unit == unit


def test_ranges_bounds_and_changes():
    assert [(q.value, q.high) for q in parse_numbers("improves throughput by 2-4x")] == [(2.0, 4.0)]
    assert [(q.value, q.high) for q in parse_numbers("memory drops by 76.64% to 79.84%")] == [(pytest.approx(0.7664), pytest.approx(0.7984))]
    change = parse_numbers("experts fall from 69.5 to 14.6")
    assert [q.value for q in change] == [69.5, 14.6] and all(q.high is None for q in change)
    assert normalise("up to 38%").bound == "upper" and normalise("more than 55%").bound == "lower"
    assert normalise("about 99%").bound == "approx"


def test_shapes_and_masked_names_are_not_numbers():
    assert parse_numbers("256x256 images") == []
    text = "Mixtral 8x7B is fast"
    assert parse_numbers(text, masked=[(0, 12)]) == []


def test_consistency_rules():
    assert values_consistent(normalise("more than half"), normalise("more than 55%"))  # bound borne out
    assert not values_consistent(normalise("3.5x"), normalise("2.2x"))
    assert values_consistent(normalise("3x"), normalise("2-4x"))  # inside the evidence range
    assert not values_consistent(normalise("10-20x"), normalise("2-4x"))
    assert values_consistent(normalise("about 2x"), normalise("1.94x"))  # 'about' widens to 6%
    assert not values_consistent(normalise("2x"), normalise("1.94x"))  # exact claims use 2%
    assert not units_compatible(normalise("38%"), normalise("38x"))


def test_word_numbers_take_multiple_units():
    from tasks.claims.numbers import parse_numbers
    q = parse_numbers("GPT-2 trains three times faster")[-1]
    assert (q.value, q.unit) == (3.0, "x")
    assert parse_numbers("roughly two-fold faster")[0].unit == "x"
    assert parse_numbers("two of the eight experts")[0].unit == ""


def test_same_precision_decimals_must_match_exactly():
    a, b = parse_numbers("9.64")[0], parse_numbers("9.46")[0]
    assert not values_consistent(a, b)
    assert values_consistent(parse_numbers("9.46")[0], b)


@pytest.mark.parametrize("text", ["892 tokens per second", "892 tokens each second", "892 tokens every second",
                                  "892 tokens/s", "892 tok/s", "892 tokens a second"])
def test_rate_phrasings_normalise_alike(text):
    q = normalise(text)
    assert (q.value, q.unit) == (892, "tokens/s")


def test_between_range_and_factor_of_are_multiples():
    claim = normalise("by a factor of between 6.21 and 11.23")
    assert (claim.value, claim.high, claim.unit) == (6.21, 11.23, "x")
    assert values_consistent(claim, normalise("6.21-11.23x"))
    assert (normalise("a factor of 3").value, normalise("a factor of 3").unit) == (3, "x")
    assert normalise("between 2 and 4 GB").high == pytest.approx(4e9)


@pytest.mark.parametrize("text,value", [("two thirds of the tokens", 2 / 3), ("a third of the experts", 1 / 3),
                                        ("three quarters of the cost", 0.75), ("one-quarter.", 0.25), ("half the compute", 0.5)])
def test_spelled_out_fractions(text, value):
    q = normalise(text)
    assert q.kind == "fraction" and q.value == pytest.approx(value)


def test_fractions_match_percentages_and_multiples():
    assert values_consistent(normalise("two thirds of the tokens"), normalise("66%"))
    assert values_consistent(normalise("half the compute"), normalise("50%"))
    assert values_consistent(normalise("half the compute"), normalise("0.5x"))
    assert values_consistent(normalise("twice"), normalise("2x"))
    assert not values_consistent(normalise("a third of it"), normalise("50%"))


def test_ordinals_and_compounds_are_not_fractions():
    assert parse_numbers("a third model") == []
    assert parse_numbers("half-precision weights") == []
