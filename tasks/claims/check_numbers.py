"""Checks "numbers" and "scope": every claimed number borne out, and a number-free claim covered by one sentence."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from tasks.claims.align import Alignment, names_all
from tasks.claims.findings import Finding, register
from tasks.claims.context import metrics_overlap
from tasks.claims.entities import names_match
from tasks.claims.number_match import Tolerance, match_numbers
from tasks.claims.number_agree import values_consistent
from tasks.claims.lexicon import lexicon, pattern
from tasks.claims.slots import content_stems, stem


def claim_words(text: str) -> set[str]:
    """The content stems a number-free claim must find covered: its reporting words ("a study finds that",
    "the analysis shows") say who states it, not what is stated (lexicon ``reporting_words``)."""
    return content_stems(text) - _reporting()


@functools.cache
def _reporting() -> frozenset[str]:
    return frozenset(stem(w) for w in lexicon()["reporting_words"])


@functools.cache
def _setting_res() -> tuple[re.Pattern, re.Pattern]:
    lex = lexicon()["setting_number"]
    return re.compile(lex["before"], re.I), re.compile(lex["after"], re.I)


def is_setting(text: str, q) -> bool:
    """Does the claimed number name the setting of a result ("at batch size 64", "128 tokens in parallel")?"""
    before, after = _setting_res()
    return bool(before.search(text[:q.span[0]]) or after.search(text[q.span[1]:]))


_RESULT_UNITS = ("x", "%", "tokens/s", "s", "B/s", "FLOP/s")


def unmeasured_setting(text: str, matches: list) -> str | None:
    """The claim's setting the paper does not report, when it bears out none of the claim's results either: then
    the claim describes an experiment the paper never ran, and a different result there contradicts nothing."""
    settings = [m for m in matches if is_setting(text, m.claimed)]
    missing = [m for m in settings if m.status != "match"]
    results = [m for m in matches if m not in settings and m.status == "match" and m.claimed.unit in _RESULT_UNITS]
    return missing[0].claimed.text if missing and not results else None


def percent_rival(al: Alignment, c, tol: Tolerance):
    """For a claimed multiple nothing settles: a speed-up the claim's actor reports as a percentage, read as a
    multiple ("15% end-to-end speedup" is 1.15x), that differs from it. Returns (sentence, evidence number) or None."""
    if c.unit != "x" or c.direction == "down":
        return None
    for s in al.aligned:
        if not any(names_match(a, p) for a in s.facts.actors() for p in al.primary):
            continue
        for e in s.facts.numbers_for(al.subjects):
            if e.unit == "%" and "speed" in e.metrics and e.direction != "down" and metrics_overlap(c, e, strict=False):
                as_x = e.model_copy(update={"unit": "x", "value": 1 + e.value, "high": e.high and 1 + e.high})
                if not values_consistent(c, as_x, tol.rel_tol, tol.approx_tol):
                    return s, e
    return None


def fraction_again(al: Alignment, c, tol: Tolerance):
    """"speeds it up by half again" is a 1.5x multiple: the aligned number that bears out a claimed fraction said
    with "again" (lexicon ``fraction_again``) as one plus that fraction. Returns (sentence, evidence number) or None."""
    if not (0 < c.value < 1 and c.high is None and re.match(lexicon()["fraction_again"], al.facts.text[c.span[1]:], re.I)):
        return None
    as_x = c.model_copy(update={"unit": "x", "kind": "multiple", "value": 1 + c.value})
    return next(((s, e) for s in al.aligned for e in s.facts.numbers_for(al.subjects) if e.unit == "x"
                 and metrics_overlap(as_x, e, strict=False) and values_consistent(as_x, e, tol.rel_tol, tol.approx_tol)), None)


_FOR_SLOT = re.compile(r"\s*for\s+([^,;.()]+?)(?=\s*(?:[,;.()]|\band\b|\bagainst\b|$))", re.I)


def _for_words(text: str, q) -> set[str]:
    m = _FOR_SLOT.match(text[q.span[1]:])
    return {w for w in re.findall(r"[a-z0-9][\w-]*", m.group(1).lower())} - {"the", "a", "an"} if m else set()


def other_for_slot(claim_text: str, s, e) -> str | None:
    """A sentence listing results each "for" its own case ("6.21x for LM, 2.58x for MT decoders") gives the
    matched value for one case; a claim that names only another listed case ("MT decoders") misplaces it.
    Returns the case the claim names, or None."""
    mine = _for_words(s.facts.text, e)
    rest = [w for o in s.facts.numbers if o is not e and o.unit == e.unit and o.span != e.span
            and (w := _for_words(s.facts.text, o))]
    if not mine or not rest:
        return None
    said = set(re.findall(r"[a-z0-9][\w-]*", claim_text.lower()))
    if (mine - set().union(*rest)) & said:
        return None
    for i, words in enumerate(rest):
        own = words - mine - set().union(set(), *(r for j, r in enumerate(rest) if j != i))
        if own & said:
            return " ".join(sorted(own & said))
    return None


def _score(s) -> float:
    return float(s.hit.score) if s is not None else 0.5


@register("numbers")
@dataclass
class NumberAgreement:
    """Each claimed number: support when an aligned number of the same unit, metric and slot bears it out;
    contradiction when the claimed value sits in another slot of that sentence or the claim's actor is
    reported with a different value; a gap otherwise."""

    tol: Tolerance = Tolerance()

    def __call__(self, al: Alignment) -> list[Finding]:
        out = []
        matches = match_numbers(al, self.tol)
        unrun = unmeasured_setting(al.facts.text, matches)
        for m in matches:
            c = m.claimed.text
            if m.status != "match" and (found := fraction_again(al, m.claimed, self.tol)):
                out.append(Finding(self.name, "support", f"'{c} again' is '{found[1].text}' ({found[0].chunk_id})",
                                   found[0].chunk_id, _score(found[0])))
                continue
            if unrun and m.status in ("other_slot", "rival", "other_metric"):
                out.append(Finding(self.name, "gap", f"'{c}' differs from {m.sentence.chunk_id}'s '{m.evidence.text}', "
                                   f"but the paper reports no result in the claim's setting '{unrun}'"))
                continue
            if m.status == "match" and (case := other_for_slot(al.facts.text, m.sentence, m.evidence)):
                out.append(Finding(self.name, "contradict", f"'{c}' is reported in {m.sentence.chunk_id} for another "
                                   f"case than the claim's '{case}'", m.sentence.chunk_id, _score(m.sentence)))
            elif m.status == "match":
                out.append(Finding(self.name, "support", f"'{c}' matches '{m.evidence.text}' ({m.sentence.chunk_id})",
                                   m.sentence.chunk_id, _score(m.sentence)))
            elif m.status == "other_slot" and m.owner:
                out.append(Finding(self.name, "contradict", f"claim gives '{c}' to its subject, but {m.owner}",
                                   m.sentence.chunk_id, _score(m.sentence)))
            elif m.status == "other_slot":
                out.append(Finding(self.name, "contradict", f"claim gives '{c}' where {m.sentence.chunk_id} says "
                                   f"'{m.evidence.text}' (the claimed value is reported there for something else)",
                                   m.sentence.chunk_id, _score(m.sentence)))
            elif m.status == "rival":
                where = f"; {m.owner}" if m.owner else ""
                out.append(Finding(self.name, "contradict", f"claim says '{c}' but {m.sentence.chunk_id} says "
                                   f"'{m.evidence.text}'{where}", m.sentence.chunk_id, _score(m.sentence)))
            elif m.status == "other_metric":
                out.append(Finding(self.name, "contradict", f"'{c}' is what {m.sentence.chunk_id} reports for "
                                   f"{', '.join(m.evidence.metrics)}, not {', '.join(m.claimed.metrics)}",
                                   m.sentence.chunk_id, _score(m.sentence)))
            elif m.status == "other_comparator":  # attribution judges whose result it is; here it stays unsettled
                out.append(Finding(self.name, "gap", f"'{c}' appears in {m.sentence.chunk_id} against another comparator"))
            elif m.status == "unknown" and not unrun and (found := percent_rival(al, m.claimed, self.tol)):
                out.append(Finding(self.name, "contradict", f"claim says '{c}' but {found[0].chunk_id} reports a "
                                   f"'{found[1].text}' speed-up", found[0].chunk_id, _score(found[0])))
            else:
                out.append(Finding(self.name, "gap", f"nothing aligned settles '{c}'"))
        return out


@register("scope")
@dataclass
class Scope:
    """A claim without numbers: one aligned sentence, or its chunk, must name all its entities (subjects,
    baselines), and that chunk must cover most of the claim's content words at a good retrieval score."""

    min_coverage: float = 0.6
    support_similarity: float = 0.5

    def __call__(self, al: Alignment) -> list[Finding]:
        if al.facts.numbers:
            return []
        if not al.subjects and not al.aligned:
            return [Finding(self.name, "gap", "no aligned evidence")]
        # a claim may combine facts of two sentences of one abstract: the names must sit in one chunk
        by_chunk = {}
        for s in al.sentences:
            by_chunk.setdefault(s.chunk_id, []).append(s)
        candidates = [s for s in al.aligned if names_all(s, al.required)
                      or all(any(names_all(t, [n]) for t in by_chunk[s.chunk_id]) for n in al.required)]
        if not candidates:
            return [Finding(self.name, "gap", f"no evidence sentence or chunk names {', '.join(al.required) or 'the claim'}")]
        words = claim_words(al.claim.text)
        # an abstract split into chunks is one text: a claim may join what its two halves say
        paper_words, paper_score = {}, {}
        for h in al.hits:
            pid = h.chunk.arxiv_id
            paper_words[pid] = paper_words.get(pid, set()) | content_stems(h.chunk.text)
            paper_score[pid] = max(paper_score.get(pid, 0.0), float(h.score))
        cov, best = max(((len(words & paper_words[s.hit.chunk.arxiv_id]) / max(1, len(words)), s) for s in candidates),
                        key=lambda t: t[0])
        score = paper_score[best.hit.chunk.arxiv_id]
        note = f"content coverage {cov:.2f} of the paper's chunks, retrieval cosine {score:.2f} ({best.chunk_id})"
        ok = cov >= self.min_coverage and score >= self.support_similarity
        if ok and pattern("cause_ranked").search(al.claim.text) and not pattern("cause_ranking").search(
                " ".join(h.chunk.text for h in al.hits if h.chunk.arxiv_id == best.hit.chunk.arxiv_id)):
            ok, note = False, f"{note}; the claim ranks a cause its paper does not rank"
        al.cache["scope_sentence"] = best
        return [Finding(self.name, "support" if ok else "gap", note, best.chunk_id, _score(best))]


def scope_sentence(al: Alignment):
    """The aligned sentence that best covers a number-free claim (None when none names all its entities)."""
    if "scope_sentence" not in al.cache:
        candidates = [s for s in al.aligned if names_all(s, al.required)]
        words = claim_words(al.claim.text)
        al.cache["scope_sentence"] = max(candidates, key=lambda s: len(words & content_stems(s.hit.chunk.text)),
                                         default=None)
    return al.cache["scope_sentence"]
