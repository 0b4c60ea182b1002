"""Checks "polarity" and "comparison": does the evidence move the claimed quantity, or rank the compared
systems, the same way as the claim?"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from tasks.claims.align import Alignment, Sentence, names_all
from tasks.claims.change import change_clash, requirement_clash
from tasks.claims.check_numbers import scope_sentence
from tasks.claims.context import analyse_sentence, clause_spans, metrics_overlap, speedup_as_time_cut
from tasks.claims.findings import Finding, register
from tasks.claims.lexicon import antonyms, lexicon, pattern
from tasks.claims.number_match import Tolerance, match_numbers
from tasks.claims.entities import names_match
from tasks.claims.number_agree import units_compatible, values_consistent
from tasks.claims.slots import comparator, plain


def overturned(text: str, x: str, y: str) -> bool:
    """Does the text name ``x`` and then, after a contrast word, assert ``y`` ("usually attributed to a
    compute-bound regime ... instead shows it stays memory-bound")?"""
    last_x, later_y = text.rfind(x), text.find(y, text.rfind(x) + 1)
    negated = re.search(r"\b(?:not|rather than|instead of)\s+(?:\w+\s+){0,2}$", text[:later_y]) if later_y > 0 else None
    return last_x >= 0 and later_y > last_x and not negated and bool(pattern("contrast").search(text[last_x + len(x):later_y]))


def negated(text: str, at: int) -> bool:
    """Is the term at ``at`` negated by a word shortly before it ("not from a shift to compute-bound"), or inside a
    set-aside phrase ("rather than from a shift into a compute-bound regime")?"""
    before = re.split(r"[,;:.()]|\b(?:and|but|while|whereas|yet)\b", text[:at])[-1]  # negation ends at its clause
    window = " ".join(before.split()[-int(lexicon()["negation_window_words"]):])
    if pattern("negation").search(window):
        return True
    for m in pattern("set_aside").finditer(text[:at]):
        if not set_aside_end(m, r"[,;:.()]").search(text[m.end():at]):
            return True
    return False


def set_aside_end(m: re.Match, ends: str) -> re.Pattern:
    """What ends a set-aside phrase: ``ends``, and "with" after a word of lexicon ``set_aside_with`` ("replaces X with
    Y": X is set aside, Y is what the paper does)."""
    return _ends(ends, bool(pattern("set_aside_with").search(m.group(0).strip())))


@functools.cache
def _ends(ends: str, with_too: bool) -> re.Pattern:  # negated() asks once per word of a claim: compile once
    return re.compile(ends + r"|\bwith\b" if with_too else ends, re.I)


def _asserts(text: str, term: str) -> bool:
    """Does ``text`` use ``term`` (as a word) at least once without negating it?"""
    return any(not negated(text, m.start()) for m in re.finditer(rf"\b{re.escape(term)}\b", text))


def antonym_clash(claim: str, evidence: str, pairs: list[tuple[str, str]]) -> str:
    """The claim asserts one side of a pair where the evidence uses only the other (or overturns the claim's side)."""
    low_claim, low_ev = claim.lower(), evidence.lower()
    for a, b in pairs:
        for x, y in ((a, b), (b, a)):
            if _asserts(low_claim, x) and _asserts(low_ev, y) and not _asserts(low_claim, y) \
                    and (x not in low_ev or overturned(low_ev, x, y)):
                return f"claim says '{x}' but the evidence says '{y}'"
    return ""


_COPULA = {"is", "are", "become", "becomes", "remain", "remains", "stay", "stays", "get", "gets"}


def _comparatives(text: str, words: set[str]) -> set[tuple[str, str]]:
    """(comparative, the thing it qualifies): "fewer active parameters" -> ("fewer", "active"), and said of it
    "activations are dense" -> ("dense", "activation"); negated ones left out."""
    tokens = [(m.group(0).lower(), m.start()) for m in re.finditer(r"[A-Za-z][\w-]*", text)]
    out = {(w, nxt.rstrip("s")) for (w, at), (nxt, _) in zip(tokens, tokens[1:]) if w in words and not negated(text, at)}
    for i, (w, at) in enumerate(tokens):
        j = i - 1 - (i > 1 and tokens[i - 1][0].endswith("ly"))  # "are highly sparse"
        if w in words and j >= 1 and tokens[j][0] in _COPULA and not negated(text, at):
            out.add((w, tokens[j - 1][0].rstrip("s")))
    return out


def comparative_clash(claim: str, evidence: str, pairs: list[tuple[str, str]]) -> str:
    """The claim qualifies a thing with one comparative ("more active parameters", "smaller models") where the
    evidence qualifies the same thing only with its opposite ("fewer active parameters", "larger models")."""
    words = {w for pair in pairs for w in pair}
    said, found = _comparatives(claim, words), _comparatives(evidence, words)
    for a, b in pairs:
        for x, y in ((a, b), (b, a)):
            for word, thing in said:
                if word == x and (y, thing) in found and (x, thing) not in found:
                    return f"claim says '{x} {thing}' but the evidence says '{y} {thing}'"
    return ""


def _inflected(term: str) -> str:
    """A pattern for a lexicon word and its inflections ("beat" -> beats, beating; "trail" -> trailed)."""
    if re.fullmatch(r"[a-z]+", term):
        return rf"\b{term}(?:s|es|ed|d|ing|ting|ging|ning)?\b"
    return rf"\b{re.escape(term)}\b"


@functools.cache
def _ranking_patterns() -> dict[str, re.Pattern]:
    """Side ('better'/'worse') -> one compiled pattern for all its comparison words, in any inflection."""
    return {side: re.compile("|".join(_inflected(w) for w in words)) for side, words in lexicon()["comparison"].items()}


def ranking(text: str) -> set[str]:
    """'better' and/or 'worse': the comparison words ``text`` asserts, in any inflection (negated ones left out)."""
    low = text.lower()
    return {side for side, rx in _ranking_patterns().items() if any(not negated(low, m.start()) for m in rx.finditer(low))}


def ranked_against(facts) -> list[str]:
    """The names a sentence ranks its subject against: the first name right after a comparison word
    ("trails GPT-4o on ...", "beating GPT-4o") in the same clause."""
    low = facts.text.lower()
    out = []
    for rx in _ranking_patterns().values():
        for m in rx.finditer(low):
            after = [e for e in facts.entities if e.kind in ("model", "baseline") and 0 <= e.span[0] - m.end() <= 30
                     and not re.search(r"[,;:.]", facts.text[m.end():e.span[0]])]
            out += [min(after, key=lambda e: e.span[0]).name] if after else []
    return out


def evaluative_polarity(text: str) -> dict[str, str]:
    """Evaluative metric -> 'up'/'down' per clause: 'worse generation quality' -> {'quality': 'down'}."""
    out: dict[str, str] = {}
    up_re, down_re, metric_re = (pattern("evaluation", k) for k in ("up", "down", "metric"))
    for a, b in clause_spans(text):
        clause = text[a:b]
        low = clause.lower()  # "no drop in quality" says nothing went down
        up = any(not negated(low, m.start()) for m in up_re.finditer(low))
        down = any(not negated(low, m.start()) for m in down_re.finditer(low))
        if up != down:
            for m in metric_re.finditer(clause):
                out[m.group(0).lower()] = "up" if up else "down"
    return out


def _chunk_polarity(al: Alignment, s: Sentence) -> dict[str, str]:
    """Evaluative polarity of the other sentences of ``s``'s chunk; a metric said to go both ways is left out."""
    seen: dict[str, set[str]] = {}
    for t in al.sentences:
        if t.chunk_id == s.chunk_id and t is not s:
            for k, w in evaluative_polarity(plain(t.facts)).items():
                seen.setdefault(k, set()).add(w)
    return {k: next(iter(w)) for k, w in seen.items() if len(w) == 1}


def _support_sentences(al: Alignment, tol: Tolerance) -> list[Sentence]:
    """The sentences that bore out a claimed number, or else the one that covers a number-free claim."""
    matched = list({id(m.sentence): m.sentence for m in match_numbers(al, tol) if m.status == "match"}.values())
    if matched or al.facts.numbers:
        return matched
    best = scope_sentence(al)
    return [best] if best is not None else []


@register("polarity")
@dataclass
class Polarity:
    """A matched number that moves the other way (reduces vs increases), an evaluative metric said to go the
    other way ("worse quality" vs "better quality"), or an opposite regime ("stays constant"/"grows",
    memory- vs compute-bound) or comparative ("more"/"fewer active parameters") in the sentence that bears
    the claim out."""

    tol: Tolerance = Tolerance()

    def __call__(self, al: Alignment) -> list[Finding]:
        out = []
        for m in match_numbers(al, self.tol):
            c, e = m.claimed, m.evidence
            if m.status == "match" and c.direction and e.direction and c.direction != e.direction \
                    and metrics_overlap(c, e, strict=True) and not speedup_as_time_cut(c, e):
                out.append(Finding(self.name, "contradict", f"'{c.text}' goes {c.direction} in the claim but "
                                   f"'{e.text}' goes {e.direction} in {m.sentence.chunk_id}", m.sentence.chunk_id,
                                   float(m.sentence.hit.score)))
        claim_way = evaluative_polarity(plain(al.facts))
        for s in _support_sentences(al, self.tol):
            ev_way = evaluative_polarity(plain(s.facts))
            if not al.facts.numbers:  # a number-free claim is covered by the chunk: its other sentences speak too
                ev_way = _chunk_polarity(al, s) | ev_way
            clash = next((f"claim says {k} goes {w} but the evidence says it goes {ev_way[k]}"
                          for k, w in claim_way.items() if ev_way.get(k, w) != w), "")
            if not al.facts.numbers:  # a number-free claim: its regime words against the covering paper's chunks
                paper = " ".join(dict.fromkeys(h.chunk.text for h in al.hits if h.chunk.arxiv_id == s.hit.chunk.arxiv_id))
                clash = clash or antonym_clash(al.claim.text, s.hit.chunk.text, antonyms("regime_antonyms")) \
                    or antonym_clash(al.claim.text, paper, antonyms("growth_antonyms")) \
                    or change_clash(al.claim.text, s.hit.chunk.text) or requirement_clash(al.claim.text, s.hit.chunk.text)
            # opposite comparatives on one thing ("higher"/"lower computational cost") in the sentence itself
            clash = clash or comparative_clash(al.claim.text, s.hit.chunk.text if not al.facts.numbers else s.facts.text,
                                               antonyms("comparative_antonyms"))
            if clash:
                out.append(Finding(self.name, "contradict", f"{clash} ({s.chunk_id})", s.chunk_id, float(s.hit.score)))
                break
        return out


def reversed_roles(al: Alignment, claimed: set[str], tol: Tolerance) -> Finding | None:
    """"A is 2-3x faster than B" where the evidence says "B is 2-3x faster than A": the claimed multiple, ranked
    the same way, but with the claim's actor as what the evidence compares against and vice versa."""
    actor = al.primary
    for m in match_numbers(al, tol):
        against = comparator(al.facts, m.claimed, actor)
        if m.status == "match" or not against or not actor:
            continue
        for s in al.sentences:
            if ranking(plain(s.facts)) != claimed or not s.facts.mentions(against):
                continue
            for e in s.facts.numbers:
                theirs = comparator(s.facts, e, against)
                if units_compatible(m.claimed, e) and values_consistent(m.claimed, e, tol.rel_tol, tol.approx_tol) \
                        and any(names_match(a, t) for a in actor for t in theirs):
                    return Finding("comparison", "contradict", f"roles reversed: {s.chunk_id} reports '{e.text}' for "
                                   f"{against[0]} over {actor[0]}, not the other way", s.chunk_id, float(s.hit.score))
    return None


@register("comparison")
@dataclass
class Comparison:
    """A comparison whose direction is reversed: the claim ranks its subject only one way ("trails",
    "underperforms", "slower than") where the evidence that bears it out ranks it only the other way, or the
    claimed multiple is reported with the compared parties' roles swapped."""

    tol: Tolerance = Tolerance()

    def __call__(self, al: Alignment) -> list[Finding]:
        claimed = ranking(plain(al.facts))
        if len(claimed) != 1:
            return self._by_clause(al)
        swapped = reversed_roles(al, claimed, self.tol)
        if swapped:
            return [swapped]
        sentences = _support_sentences(al, self.tol)
        if not al.facts.numbers:  # every sentence that names all the compared parties, not only the best-covering one
            sentences += [s for s in al.aligned if names_all(s, al.required) and s not in sentences]
        targets = ranked_against(al.facts)  # and every aligned sentence that ranks the subject against the same party
        sentences += [s for s in al.aligned if s not in sentences
                      and any(names_match(t, u) for t in targets for u in ranked_against(s.facts))]
        for s in sentences:
            said = ranking(plain(s.facts))
            if len(said) == 1 and said != claimed:
                return [Finding(self.name, "contradict", f"the claim ranks it {next(iter(claimed))} but {s.chunk_id} "
                                f"ranks it {next(iter(said))}", s.chunk_id, float(s.hit.score))]
        return []

    def _by_clause(self, al: Alignment) -> list[Finding]:
        """A claim that ranks its subject both ways ("beats A on most benchmarks, but trails A on maths"): each
        contrast clause that ranks it one way against a named party, against the aligned sentences that rank it
        only the other way against that party."""
        text = al.facts.text
        cuts = [0] + [m.start() for m in _CONTRAST.finditer(text)] + [len(text)]
        for a, b in zip(cuts, cuts[1:]):
            part = analyse_sentence(text[a:b])
            said, parties = ranking(plain(part)), ranked_against(part)
            if len(said) != 1 or not parties:
                continue
            for s in al.aligned:
                theirs = ranking(plain(s.facts))
                if len(theirs) == 1 and theirs != said and any(names_match(p, q) for p in parties for q in ranked_against(s.facts)):
                    return [Finding(self.name, "contradict", f"the claim ranks it {next(iter(said))} against {parties[0]} "
                                    f"but {s.chunk_id} ranks it {next(iter(theirs))}", s.chunk_id, float(s.hit.score))]
        return []


_CONTRAST = re.compile(r"\b(?:but|while|whereas|although|though|yet)\b|;", re.I)

