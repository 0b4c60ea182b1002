"""When two parsed quantities agree: the same kind of thing (units) and a value within tolerance (bounds, ranges,
quoted precision). Parsing lives in tasks/claims/numbers.py."""

from __future__ import annotations

import math
import re

from tasks.claims.records import Quantity


def _decimals(q: Quantity) -> int:
    digits = re.search(r"\d+(?:\.(\d+))?", q.text)
    return len(digits.group(1)) if digits and digits.group(1) else 0


def units_compatible(a: Quantity, b: Quantity) -> bool:
    """True when two quantities measure the same kind of thing (so their values can be compared)."""
    if a.kind == "hardware_count" or b.kind == "hardware_count":
        return False
    if a.unit == b.unit:
        if a.unit != "":
            return True
        plainish = {"plain", "count"}
        # "2.788M" (read as parameters) and "2.8 million"; "3 trillion pretraining tokens" and "three trillion tokens"
        return a.kind == b.kind or a.kind in plainish and b.kind in plainish \
            or {a.kind, b.kind} in ({"count", "params"}, {"count", "tokens"})
    # "half" / "a third" is a share (50%) and a multiple (0.5x) alike
    for frac, other in ((a, b), (b, a)):
        if frac.kind == "fraction" and other.unit in ("%", "x"):
            return True
    # "38%" against "0.38": a bare decimal at most 1 reads as a fraction
    for pct, other in ((a, b), (b, a)):
        if pct.unit == "%" and other.unit == "" and other.kind == "plain" and "." in other.text and other.value <= 1:
            return True
    return False


def _close(x: float, y: float, rel: float) -> bool:
    return math.isclose(x, y, rel_tol=rel, abs_tol=1e-12)


def values_consistent(claim: Quantity, evidence: Quantity, rel_tol: float = 0.02, approx_tol: float = 0.06) -> bool:
    """Does the evidence value bear out the claim value?

    Equal within ``rel_tol`` (``approx_tol`` when either side says "about"); a claimed lower bound
    ("more than half") is borne out by any larger evidence value, a claimed "less than" by any smaller one; ranges must agree at both ends,
    and a single claimed value inside an evidence range is borne out.
    """
    if not units_compatible(claim, evidence):
        return False
    if claim.bound == "strict" and (evidence.bound != "exact" or evidence.high is not None):
        return False
    tol = approx_tol if "approx" in (claim.bound, evidence.bound) else rel_tol
    if claim.bound == evidence.bound == "exact" and claim.high is None and evidence.high is None \
            and claim.unit == evidence.unit and _decimals(claim) >= 1 and _decimals(claim) == _decimals(evidence):
        # both quoted to the same precision: "9.64" is not "9.46" even though they are 2% apart
        return _close(claim.value, evidence.value, 1e-9)
    c_lo, c_hi = claim.value, claim.high if claim.high is not None else claim.value
    e_lo, e_hi = evidence.value, evidence.high if evidence.high is not None else evidence.value
    if claim.bound == evidence.bound == "below" and claim.high is evidence.high is None and e_hi > 0:
        # a ceiling restates the paper's ceiling to within rounding: "under 1%" is not "under 0.1%"
        return e_hi <= c_hi * (1 + tol) and c_hi <= e_hi * 2
    if claim.bound == "lower" and claim.high is None:  # "more than 7 billion" is not borne out by 7 trillion
        return c_lo * (1 - tol) <= e_lo <= c_lo * 10
    if claim.bound == "below" and claim.high is None:
        return e_hi <= c_hi * (1 + tol)
    if claim.bound == "upper" and claim.high is None and evidence.high is None and evidence.bound != "upper":
        return e_hi <= c_hi * (1 + tol) and _close(c_hi, e_hi, max(tol, 0.1))
    if claim.high is not None and evidence.high is not None:
        return _close(c_lo, e_lo, tol) and _close(c_hi, e_hi, tol)
    if claim.high is None and evidence.high is not None:
        return e_lo * (1 - tol) <= c_lo <= e_hi * (1 + tol)
    if claim.high is not None and evidence.high is None:
        return False
    return _close(c_lo, e_lo, tol)


def comparable(c: Quantity, e: Quantity) -> bool:
    """Can ``e`` refute ``c``? Not a value of another scale
    altogether ("10B tokens of retraining" vs "20T tokens of pretraining"), unless only the scale word differs
    ("7 billion" vs "7 trillion" is a scale error)."""
    if c.value > 0 and e.value > 0 and max(c.value, e.value) / min(c.value, e.value) > 100:
        mantissa = lambda q: re.search(r"\d+(?:\.\d+)?", q.text)  # noqa: E731
        mc, me = mantissa(c), mantissa(e)
        return bool(mc and me and mc.group(0) == me.group(0))
    return True


def loose(q: Quantity) -> Quantity:
    """``q`` without its "exactly": an approximate figure leaves an exact claim unsettled, it does not refute it."""
    return q.model_copy(update={"bound": "exact"}) if q.bound == "strict" else q
