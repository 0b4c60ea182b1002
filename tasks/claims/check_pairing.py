"""Check "pairing": does the claim pair two things with two attributes the other way round from its evidence?

"S keeps the expert weights in device memory and moves the non-expert weights to external storage" against
"non-expert weights stay in device memory, while expert weights live on external storage": each of the claim's
clauses ties a term of its own (``expert``, ``non-expert``) to an attribute of its own (``device``, ``storage``),
and one evidence sentence ties them crosswise. The same holds for figures ("2.2x on images but doubles on video"
against "doubles ... on images and gives 2.2x on video") and for what is done at which level ("tokens within a
block autoregressively, blocks by diffusion" against "blocks autoregressively, tokens by diffusion").

Terms of a claim clause are its content stems and figures that no other clause of the claim uses. A swap is
found when one evidence sentence holds all four terms, one of its clauses ties ``x`` (first claim clause) to
``q`` (second claim clause) without ``p`` or ``y``, and no clause of it ties ``x`` to ``p`` or ``y`` to ``q``.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from tasks.claims.align import Alignment
from tasks.claims.context import clause_spans
from tasks.claims.findings import Finding, register
from tasks.claims.number_match import Tolerance, match_numbers
from tasks.claims.number_agree import units_compatible, values_consistent
from tasks.claims.records import Quantity
from tasks.claims.slots import content_stems, plain


def terms(text: str) -> set[str]:
    """Content stems and figures ("2.2x", "64K") of a stretch of text."""
    return content_stems(text) | {m.group(0).lower() for m in re.finditer(r"(?<![\w.-])\d+(?:\.\d+)?[a-zA-Z%]*", text)}


def clause_terms(text: str) -> list[set[str]]:
    return [t for t in (terms(text[a:b]) for a, b in clause_spans(text)) if t]


def coordinated(text: str) -> list[tuple[set[str], set[str]]]:
    """Neighbouring clauses joined by "and", "while", "whereas" or "but" (not items of a comma list)."""
    spans = [(a, b, terms(text[a:b])) for a, b in clause_spans(text)]
    spans = [x for x in spans if x[2]]
    return [(t1, t2) for (_, b, t1), (a, _, t2) in zip(spans, spans[1:])
            if re.search(r"\b(?:and|while|whereas|but)\b", text[b:a], re.I)]


def positions(text: str) -> dict[str, list[int]]:
    """Term -> the word positions where the text uses it."""
    out: dict[str, list[int]] = {}
    for i, word in enumerate(text.split()):
        for t in terms(word):
            out.setdefault(t, []).append(i)
    return out


def _distance(at: dict[str, list[int]], u: str, v: str) -> int:
    return min((abs(i - j) for i in at.get(u, []) for j in at.get(v, [])), default=10**6)


def tied(evidence: str, at: dict[str, list[int]], u: str, v: str, others: tuple[str, str]) -> bool:
    """Does the evidence tie ``u`` to ``v``: nearer each other than to ``others``, with neither of those and no
    semicolon or colon between them ("doubles the throughput of ViT-L at 512 ... on images")?"""
    words = evidence.split()
    gaps = [(abs(i - j), min(i, j), max(i, j)) for i in at.get(u, []) for j in at.get(v, [])]
    if not gaps:
        return False
    _, lo, hi = min(gaps)
    between = " ".join(words[lo + 1:hi])
    return not re.search(r"[;:]", " ".join(words[lo:hi])) and not (terms(between) & set(others))


def crossed(claim: str, evidence: str) -> tuple[str, str, str, str] | None:
    """(x, p, y, q) when the claim ties x to p and y to q in two coordinated clauses and ``evidence`` ties x to q
    (in one clause that mostly restates the claim) and y to p. Pass both texts with their names blanked out: a
    name is the subject, not a role."""
    ours, theirs = clause_terms(claim), clause_terms(evidence)
    if not ours or not theirs:
        return None
    sentence, claimed, at = set().union(*theirs), set().union(*ours), positions(evidence)
    together = lambda u, v: any(u in c and v in c for c in theirs)  # noqa: E731
    for first, second in coordinated(claim):
        rest = set().union(*(c for c in ours if c != first and c != second))
        for c1, c2 in ((first, second), (second, first)):
            own1, own2 = sorted((c1 - c2 - rest) & sentence), sorted((c2 - c1 - rest) & sentence)
            for x, p in itertools.permutations(own1, 2):
                for y, q in itertools.permutations(own2, 2):
                    if together(x, p) or together(y, q):
                        continue
                    if _distance(at, y, p) < _distance(at, y, q) and tied(evidence, at, y, p, (x, q)) and \
                            any(x in c and q in c and p not in c and y not in c and 2 * len(c & claimed) >= len(c)
                                for c in theirs):
                        return x, p, y, q
    return None


_SEGMENT = re.compile(r";|\b(?:and|while|whereas|but)\b", re.I)


def _segment(text: str, at: int) -> tuple[int, int]:
    """The stretch of ``text`` around ``at`` between coordinating words (commas and brackets do not end it)."""
    a = max((m.end() for m in _SEGMENT.finditer(text) if m.end() <= at), default=0)
    b = min((m.start() for m in _SEGMENT.finditer(text) if m.start() >= at), default=len(text))
    return a, b


def _rival(al: Alignment, m, other, tol: Tolerance) -> Quantity | None:
    """A value of ``other``'s kind that the claim does not give, in the stretch of ``m``'s evidence number
    (which does not hold ``other``'s evidence number)."""
    text = m.sentence.facts.text
    lo, hi = _segment(text, m.evidence.span[0])
    if lo <= other.evidence.span[0] < hi:
        return None
    return next((r for r in m.sentence.facts.numbers if lo <= r.span[0] < hi and (r.unit or r.kind != "plain")
                 and units_compatible(other.claimed, r)
                 and not any(values_consistent(c, r, tol.rel_tol, tol.approx_tol) for c in al.facts.numbers)), None)


def crossed_figures(al: Alignment, tol: Tolerance) -> Finding | None:
    """Two claimed figures both found in one sentence, each beside another value of the other's kind: "the 145B
    model matches X at 40% of the compute" against "at 16B it needs about 40% of the computation, and at 145B
    about 28.5%". The other values must be ones the claim does not give itself."""
    matched = [m for m in match_numbers(al, tol) if m.status == "match"]
    for a, b in itertools.combinations(matched, 2):
        if a.sentence is not b.sentence or a.evidence.span == b.evidence.span:
            continue
        ra, rb = _rival(al, b, a, tol), _rival(al, a, b, tol)
        if ra is not None and rb is not None:
            s = b.sentence
            return Finding("pairing", "contradict", f"{s.chunk_id} gives '{b.evidence.text}' beside '{ra.text}' and "
                           f"'{a.evidence.text}' beside '{rb.text}', not the two together", s.chunk_id, float(s.hit.score))
    return None


_ITEM = r"[A-Za-z][\w+.\-]*"
_ITEMS = re.compile(rf"({_ITEM}(?:\s*,\s*{_ITEM})*)\s*,?\s+and\s+({_ITEM})[^,;]*?,?\s*respectively\b")


def respective(facts) -> list[tuple[Quantity, str]]:
    """"4.86x and 2.18x ... on NVIDIA and AMD GPUs, respectively" -> [(4.86x, 'nvidia'), (2.18x, 'amd')]."""
    m = _ITEMS.search(facts.text)
    if m is None:
        return []
    items = [w.strip().lower() for w in m.group(1).split(",")] + [m.group(2).lower()]
    listed = [q for q in facts.numbers if q.span[1] <= m.start()]
    chain: list[Quantity] = []
    for q in listed:  # the run of numbers joined by "and" or commas
        if chain and re.fullmatch(r"\s*(?:,\s*)?(?:and\s+)?", facts.text[chain[-1].span[1]:q.span[0]]):
            chain.append(q)
        else:
            chain = [q]
    return list(zip(chain, items)) if len(chain) == len(items) >= 2 else []


def crossed_respectively(al: Alignment, tol: Tolerance) -> Finding | None:
    """A claimed figure matched to one member of a respectively-list but said of another member's item."""
    words = [w.lower() for w in re.findall(r"[\w+.\-]+", al.claim.text)]
    for m in match_numbers(al, tol):
        if m.status != "match":
            continue
        pairs = respective(m.sentence.facts)
        own = next((item for q, item in pairs if q.span == m.evidence.span), None)
        if own is None:
            continue
        at = len(re.findall(r"[\w+.\-]+", al.claim.text[:m.claimed.span[0]]))
        said = next((w for w in words[at:] if w in {item for _, item in pairs}), None)
        if said is not None and said != own:
            s = m.sentence
            return Finding("pairing", "contradict", f"{s.chunk_id} gives '{m.evidence.text}' for {own}, not {said}",
                           s.chunk_id, float(s.hit.score))
    return None


@register("pairing")
@dataclass
class Pairing:
    """Two of the claim's pairings crossed in one aligned evidence sentence: terms, or figures."""

    tol: Tolerance = Tolerance()

    def __call__(self, al: Alignment) -> list[Finding]:
        figures = crossed_figures(al, self.tol) or crossed_respectively(al, self.tol)
        if figures is not None:
            return [figures]
        for s in al.aligned:
            found = crossed(plain(al.facts), plain(s.facts))
            if found:
                x, p, y, q = found
                return [Finding(self.name, "contradict", f"the claim ties '{x}' to '{p}' and '{y}' to '{q}', but "
                                f"{s.chunk_id} ties '{x}' to '{q}'", s.chunk_id, float(s.hit.score))]
        return []
