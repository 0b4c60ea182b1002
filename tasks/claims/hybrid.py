"""The deterministic default verifier: retrieval similarity + entity alignment + numeric consistency.

How a claim is judged against the sentences of its top-k evidence chunks:

1. **Alignment.** An evidence sentence speaks about the claim when it names one of the claim's subjects
   (models/systems, version-sensitive: DeepSeek-V2 is not DeepSeek-V3), directly or as its paper's
   subject. A name after "than/over/from/as" is a baseline, not the subject. Numbers that the sentence
   ties to another entity ("5.86x for Llama") do not count for the claim's subject.
2. **Numbers.** Each claimed number is *borne out* by an aligned number of the same unit and metric
   within tolerance (2%, 6% when either side says "about"; bounds and ranges respected). It is
   *contradicted* when no aligned number bears it out but an aligned number of the same unit that
   measures the same thing (shared specific metric word) says otherwise, or when the matched number
   moves the other way (reduces vs increases).
3. **Hardware.** Claimed hardware must be named by the aligned evidence; different hardware (or GPU
   count) for the same result is a contradiction; no hardware named is not enough information.
4. **Label.** Any contradiction -> CONTRADICTED. All claimed numbers and hardware borne out ->
   SUPPORTED. A claim without numbers is SUPPORTED only if one aligned sentence names all its entities
   and the evidence covers most of its content words at a good retrieval score. Otherwise
   NOT_ENOUGH_INFO (on-topic but unsettled), including when nothing is retrieved.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from tasks.claims.base import Retrieve, as_claim, no_evidence, safe_retrieve, to_evidence
from tasks.claims.context import SentenceFacts, analyse_sentence, clause_spans, metrics_of, metrics_overlap, title_subject
from tasks.claims.entities import name_parts, names_match, names_related
from tasks.claims.numbers import units_compatible, values_consistent
from tasks.claims.records import Claim, Entity, Quantity, Verdict
from tasks.index.chunking import sentence_spans
from tasks.records import Chunk, ChunkHit

# Opposite regimes/directions: a claim using one while the aligned evidence uses only the other is contradicted.
ANTONYMS = [
    ("memory-bound", "compute-bound"), ("memory bound", "compute bound"), ("faster", "slower"),
    ("increases", "decreases"), ("sublinear", "superlinear"), ("outperforms", "underperforms"),
]
_STOP = set(ENGLISH_STOP_WORDS)


def _stem(word: str) -> str:
    for suffix in ("ations", "ation", "ings", "ing", "ies", "ied", "es", "ed", "ly", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def content_stems(text: str) -> set[str]:
    return {_stem(w) for w in re.findall(r"[a-z][a-z\-]+", text.lower()) if len(w) > 2 and w not in _STOP}


# Qualifiers that single out one of several results reported side by side; within a group they exclude
# each other ("1.55x in training and 2.11x in inference", "47B total, 13B active", "in FP16 ... in FP8").
QUALIFIER_GROUPS: dict[str, dict[str, str]] = {
    "phase": {"training": r"\btrain(?:ing|ed)?\b|\bpre-?train\w*", "inference": r"\binference\b|\bserving\b"},
    "share": {"total": r"\btotal\b|\boverall\b|\bin all\b", "active": r"\bactiv(?:e|ated?|ates|ating|ation)\b"},
    "stage": {"prefill": r"\bprefill\w*|\bprompt processing\b", "decode": r"\bdecod(?:e|ing)\b|\bgeneration\b"},
    "statistic": {"average": r"\baverag\w*|\bmean\b|\bon average\b", "peak": r"\bpeak\b|\bmaximum\b|\bbest\b"},
    "precision": {p: rf"\b{p}\b" for p in ("fp8", "fp16", "bf16", "fp32", "int8", "int4")},
    # named evaluation metrics: "MSE by 10.4% and MAE by 7.8%" are two results, not one
    "measure": {"mae": r"\bmae\b|mean absolute error", "mse": r"\bmse\b|mean squared error",
                "rmse": r"\brmse\b|root mean squared? error", "fid": r"\bfid\b|fr[ée]chet inception",
                "is": r"\binception score\b|\bIS\b", "bleu": r"\bbleu\b", "rouge": r"\brouge\b",
                "perplexity": r"\bperplexity\b|\bppl\b", "f1": r"\bf1\b", "wer": r"\bwer\b|word error rate"},
}
_QUALIFIER_RES = {g: {k: re.compile(v, re.I) for k, v in d.items()} for g, d in QUALIFIER_GROUPS.items()}


def _slot_span(facts: SentenceFacts, q: Quantity) -> tuple[int, int]:
    """``q``'s clause, narrowed to the text between its neighbouring numbers when the clause holds several
    ("57B parameters overall with 14B activated")."""
    text = facts.text
    a, b = next(((a, b) for a, b in clause_spans(text) if a <= q.span[0] < b), (0, len(text)))
    for o in facts.numbers:
        if o is q:
            continue
        if a <= o.span[1] <= q.span[0]:
            a = o.span[1]
        if q.span[1] <= o.span[0] < b:
            b = o.span[0]
    return a, b


def _slot_text(facts: SentenceFacts, q: Quantity) -> str:
    """The slot's text with names and the number itself blanked out."""
    a, b = _slot_span(facts, q)
    chars = list(facts.text[a:b])
    for lo, hi in [e.span for e in facts.entities] + [q.span]:
        for i in range(max(a, lo), min(b, hi)):
            chars[i - a] = " "
    return "".join(chars)


def _slot_words(facts: SentenceFacts, q: Quantity) -> set[str]:
    """Content words around ``q`` without names: what the number is reported for."""
    return content_stems(_slot_text(facts, q))


def _slot_metrics(facts: SentenceFacts, q: Quantity) -> tuple[str, ...]:
    """What ``q`` measures, read from its slot only (falls back to its clause's metrics)."""
    return metrics_of(_slot_text(facts, q), q) or q.metrics


def _same_slot_metric(cf: SentenceFacts, c: Quantity, ef: SentenceFacts, e: Quantity) -> bool:
    """Do the slots of claim number ``c`` and evidence number ``e`` name the same specific metric?
    Unknown on either side passes."""
    cm, em = _slot_metrics(cf, c), _slot_metrics(ef, e)
    if not cm or not em:
        return True
    return metrics_overlap(c.model_copy(update={"metrics": cm}), e.model_copy(update={"metrics": em}), strict=True)


def _slot_qualifiers(facts: SentenceFacts, q: Quantity) -> dict[str, list[str]]:
    """Mutually exclusive qualifiers in ``q``'s slot, plus the baselines and datasets it names."""
    text = _slot_text(facts, q)
    out = {g: [k for k, r in d.items() if r.search(text)] for g, d in _QUALIFIER_RES.items()}
    a, b = _slot_span(facts, q)
    for kind in ("baseline", "dataset"):
        out[kind] = [e.name for e in facts.entities if e.kind == kind and a <= e.span[0] < b]
    return {g: v for g, v in out.items() if v}


def _shares(g: str, xs: list[str], ys: list[str]) -> bool:
    if g in ("baseline", "dataset"):
        return any(names_match(x, y) for x in xs for y in ys)
    return bool(set(xs) & set(ys))


@dataclass(frozen=True)
class _Sentence:
    hit: ChunkHit
    facts: SentenceFacts


_PRONOUN = re.compile(r"\b(?:it|its|they|their)\b", re.I)


_CONTRAST = re.compile(r"\b(?:instead|however|but|in fact|actually|contrary|whereas)\b")


def _overturned(text: str, x: str, y: str) -> bool:
    """Does the text name ``x`` and then, after a contrast word, assert ``y`` ("usually attributed to a
    compute-bound regime ... instead shows it stays memory-bound")?"""
    last_x, later_y = text.rfind(x), text.find(y, text.rfind(x) + 1)
    negated = re.search(r"\b(?:not|rather than|instead of)\s+(?:\w+\s+){0,2}$", text[:later_y]) if later_y > 0 else None
    return last_x >= 0 and later_y > last_x and not negated and bool(_CONTRAST.search(text[last_x + len(x):later_y]))


def _sentences(hits: list[ChunkHit]) -> list[_Sentence]:
    out = []
    for hit in hits:
        inherited = title_subject(hit.chunk.title)
        text = hit.chunk.text
        named: tuple[str, ...] = ()  # the system the chunk last named
        for a, b in sentence_spans(text):
            sentence = text[a:b].strip()
            facts = analyse_sentence(sentence, inherited=inherited)
            # "... with V-MoE. For image recognition it matches ...": 'it' is the system named just before
            if named and not facts.models and _PRONOUN.search(sentence):
                facts = analyse_sentence(sentence, inherited=inherited + named)
            own = tuple(e.name for e in facts.models if e.name not in inherited)
            named = own[:1] if own else named
            out.append(_Sentence(hit, facts))
    return out


_DEVICE_WORDS = re.compile(r"\b(?:[GTC]PUs?|accelerators?|devices?|nodes?)\b")


def _other_setup(facts: SentenceFacts, claimed: list[Entity]) -> bool:
    """Does the sentence describe hardware, none of it the claimed hardware?"""
    if any(_hardware_key(h) == _hardware_key(c) for h in facts.hardware for c in claimed):
        return False
    return bool(facts.hardware) or bool(_DEVICE_WORDS.search(facts.text))


_EVAL_DOWN = re.compile(r"\b(?:worse|worsen\w*|degrad\w*|hurts?|harms?|sacrific\w*)\b", re.I)
_EVAL_UP = re.compile(r"\b(?:better|improv\w*|enhanc\w*)\b", re.I)
_EVAL_METRIC = re.compile(r"\b(?:quality|accuracy|performance)\b", re.I)
# Architectures that exclude each other: a result reported for LSTM layers is not one for Transformer layers.
_ARCHITECTURES = {"transformer": r"\btransformers?\b", "lstm": r"\blstms?\b", "rnn": r"\brnns?\b|\brecurrent\b",
                  "cnn": r"\bcnns?\b|\bconvolutional (?:neural )?networks?\b", "ssm": r"\bssms?\b|\bstate[- ]space\b"}


def _plain(facts: SentenceFacts) -> str:
    chars = list(facts.text)
    for e in facts.entities:
        for i in range(*e.span):
            chars[i] = " "
    return "".join(chars)


def _polarity(text: str) -> dict[str, str]:
    """Evaluative metric -> 'up'/'down' per clause: 'worse generation quality' -> {'quality': 'down'}."""
    out: dict[str, str] = {}
    for a, b in clause_spans(text):
        clause = text[a:b]
        up, down = bool(_EVAL_UP.search(clause)), bool(_EVAL_DOWN.search(clause))
        if up == down:
            continue
        for m in _EVAL_METRIC.finditer(clause):
            out[m.group(0).lower()] = "up" if up else "down"
    return out


def _polarity_clash(cf: SentenceFacts, ef: SentenceFacts) -> str:
    c, e = _polarity(_plain(cf)), _polarity(_plain(ef))
    for metric, way in c.items():
        if e.get(metric, way) != way:
            return f"claim says {metric} goes {way} but the evidence says it goes {e[metric]}"
    return ""


def _architecture_clash(cf: SentenceFacts, ef: SentenceFacts) -> str:
    def archs(facts: SentenceFacts) -> set[str]:
        text = _plain(facts)
        return {k for k, r in _ARCHITECTURES.items() if re.search(r, text, re.I)}
    c, e = archs(cf), archs(ef)
    if c and e and not (c & e):
        return f"claim names {', '.join(sorted(c))} but the evidence names {', '.join(sorted(e))}"
    return ""


def _same_family_other_version(a: str, b: str) -> bool:
    """'LLaMA2 7B' and 'LLaMA3 8B': one family name, another version or size."""
    pa, pb = name_parts(a), name_parts(b)
    return bool(pa and pb) and pa[0] == pb[0] and len(pa[0]) >= 3 and pa[0].isalpha() and len(pa) > 1 and len(pb) > 1 \
        and not names_match(a, b)


def _hardware_key(e: Entity) -> str:
    return e.name.replace(" ", "").upper()


@dataclass
class HybridVerifier:
    """Deterministic verifier; see the module docstring for the rules."""

    k: int = 8
    support_similarity: float = 0.5
    min_coverage: float = 0.6
    rel_tol: float = 0.02
    approx_tol: float = 0.06
    unaligned_top: int = 2
    max_subqueries: int = 4
    max_named_papers: int = 3  # papers added because their title names a claimed subject
    slot_margin: int = 2  # content words by which another number's clause must fit the claim better
    paper_chunks: Callable[[str], list[Chunk]] | None = None  # arxiv id -> all its chunks (document expansion)
    name: str = "hybrid"

    def verify(self, claim: Claim | str, retrieve: Retrieve, source_id: str | None = None) -> Verdict:
        claim = as_claim(claim, source_id)
        hits, error = self._retrieve(claim.text, retrieve)
        if not hits:
            return no_evidence(claim, self.name, error)
        try:
            return self._judge(claim, self._expand(claim.text, hits), source_id or claim.source_id)
        except Exception as exc:  # noqa: BLE001 - a bad parse must not stop the run
            return Verdict(claim_id=claim.claim_id, claim_text=claim.text, label="NOT_ENOUGH_INFO", confidence=0.0,
                           verifier=self.name, evidence=to_evidence(hits[:3], source_id), failed=True,
                           rationale=f"hybrid verifier failed: {type(exc).__name__}: {exc}")

    def _retrieve(self, text: str, retrieve: Retrieve) -> tuple[list[ChunkHit], str | None]:
        """Top-k for the whole claim, plus top-k/2 for each clause that carries a number.

        A claim that combines several facts ("cuts experts by half and latency by 38%") can have its
        facts in different chunks of the same paper; one query for the whole claim may miss some.
        """
        hits, error = safe_retrieve(retrieve, text, self.k)
        queries = [text[a:b].strip() for a, b in clause_spans(text)]
        queries = [q for q in queries if len(q) >= 15 and re.search(r"\d|half|twice", q)][: self.max_subqueries]
        names = " ".join(e.name for e in analyse_sentence(text).models)
        queries = [q if names and names in q else f"{names} {q}".strip() for q in queries]
        best: dict[str, ChunkHit] = {h.chunk.chunk_id: h for h in hits}
        for q in queries if len(queries) > 1 else []:
            more, _ = safe_retrieve(retrieve, q, max(2, self.k // 2))
            for h in more:
                best.setdefault(h.chunk.chunk_id, h)
        return sorted(best.values(), key=lambda h: -h.score), error

    def _expand(self, text: str, hits: list[ChunkHit]) -> list[ChunkHit]:
        """Add the other chunks of papers that are about the claim's subjects (an abstract is one document)."""
        if self.paper_chunks is None:
            return hits
        subjects = [e.name for e in analyse_sentence(text).models]
        if not subjects:
            return hits
        have = {h.chunk.chunk_id for h in hits}
        out = list(hits)
        # Papers titled after a claimed name are read even when the embedding missed them: a small
        # encoder knows nothing of "dInfer", but the title does.
        titles = getattr(self.paper_chunks, "titles", None) or {}
        named = [pid for pid, title in titles.items()
                 if any(names_related(s, t) for s in subjects for t in title_subject(title))][: self.max_named_papers]
        floor = min(h.score for h in hits)
        for pid in named:
            for chunk in self.paper_chunks(pid):
                if chunk.chunk_id not in have:
                    have.add(chunk.chunk_id)
                    out.append(ChunkHit(chunk=chunk, score=floor))
        for hit in hits:
            paper = hit.chunk.arxiv_id
            if not any(names_match(s, t) for s in subjects for t in title_subject(hit.chunk.title)) \
                    and not analyse_sentence(hit.chunk.text).mentions(subjects):
                continue
            for chunk in self.paper_chunks(paper):
                if chunk.chunk_id not in have:
                    have.add(chunk.chunk_id)
                    out.append(ChunkHit(chunk=chunk, score=hit.score))
        return out

    # -- the judgement -------------------------------------------------------------------------
    def _judge(self, claim: Claim, hits: list[ChunkHit], source_id: str | None) -> Verdict:
        source_title = next((h.chunk.title for h in hits if source_id and h.chunk.arxiv_id == source_id), None)
        cf = analyse_sentence(claim.text, inherited=title_subject(source_title) if source_title else ())
        # An extracted claim that says "it" is about its own paper's subject.
        subjects = [e.name for e in cf.models] or list(cf.inherited)
        sentences = _sentences(hits)
        if subjects:
            aligned = [s for s in sentences if s.facts.mentions(subjects)]
        else:  # nothing named: trust only the closest chunks
            top = {h.chunk.chunk_id for h in sorted(hits, key=lambda h: -h.score)[: self.unaligned_top]}
            aligned = [s for s in sentences if s.hit.chunk.chunk_id in top]
        notes: list[str] = []
        conflicts: list[str] = []
        deciding: list[ChunkHit] = []

        supported_numbers, unknown_numbers = 0, 0
        support_sentences: list[_Sentence] = []
        # The claim's actor: the first name it reports on (not one in a setting phrase like "on Mixtral").
        primary = cf.actors()[:1] or subjects
        setting_only = not cf.actors() and bool(cf.models)
        claim_baselines = [e.name for e in cf.baselines]
        for c in cf.numbers:
            found, slot_rival = self._support(c, cf, aligned, subjects, claim_baselines)
            if found is None and slot_rival is not None:
                s, e = slot_rival
                conflicts.append(f"claim gives '{c.text}' where {s.hit.chunk.chunk_id} says '{e.text}' "
                                 f"(the claimed value is reported there for something else)")
                deciding.append(s.hit)
                continue
            if found is not None:
                sentence, e = found
                if c.direction and e.direction and c.direction != e.direction and metrics_overlap(c, e, strict=True):
                    conflicts.append(f"'{c.text}' goes {c.direction} in the claim but '{e.text}' goes {e.direction} "
                                     f"in {sentence.hit.chunk.chunk_id}")
                    deciding.append(sentence.hit)
                    continue
                supported_numbers += 1
                support_sentences.append(sentence)
                deciding.append(sentence.hit)
                notes.append(f"'{c.text}' matches '{e.text}' ({sentence.hit.chunk.chunk_id})")
                continue
            # A rival must be reported for the claim's actor, not merely measured on it by another system.
            # (When the claim itself names its subject only as the setting, "in Mixtral", so may the evidence.)
            rivals = [(s, e) for s in aligned if any(names_match(a, p) for a in s.facts.actors() for p in primary)
                      or (setting_only and s.facts.mentions(primary, explicit_only=True))
                      for e in s.facts.numbers_for(subjects)
                      if units_compatible(c, e) and metrics_overlap(c, e, strict=True)
                      and not values_consistent(c, e, self.rel_tol, self.approx_tol)]
            # A claim set on named hardware ("on a T4") is not refuted by a figure from a sentence that
            # describes another setup (other hardware, or "a single GPU with 24 GB" without the claimed one).
            if cf.hardware:
                rivals = [(s, e) for s, e in rivals if not _other_setup(s.facts, cf.hardware)]
            if rivals and subjects:  # whose number it is must be known before calling it wrong
                others = [o for o in cf.numbers if o is not c]
                fresh = [(s, e) for s, e in rivals if not any(values_consistent(o, e, self.rel_tol, self.approx_tol) for o in others)]
                s, e = (fresh or rivals)[0]
                elsewhere = self._misattributed(c, sentences, subjects)
                conflicts.append(f"claim says '{c.text}' but {s.hit.chunk.chunk_id} says '{e.text}'" + elsewhere)
                deciding.append(s.hit)
            else:
                unknown_numbers += 1
                notes.append(f"nothing aligned settles '{c.text}'")

        for s in {id(x): x for x in support_sentences}.values():  # the sentence that bears a number out must not say otherwise
            clash = _polarity_clash(cf, s.facts) or _architecture_clash(cf, s.facts)
            if clash:
                conflicts.append(f"{clash} in {s.hit.chunk.chunk_id}")
                deciding.append(s.hit)
                break
        for b in claim_baselines:  # "competitive with LLaMA2 7B" where the evidence says LLaMA3 8B
            if any(names_match(b, e.name) for s in aligned for e in s.facts.entities):
                continue
            swap = next(((s, e) for s in aligned for e in s.facts.baselines if _same_family_other_version(b, e.name)), None)
            if swap is not None:
                conflicts.append(f"claim compares with {b} but {swap[0].hit.chunk.chunk_id} compares with {swap[1].name}")
                deciding.append(swap[0].hit)

        required = subjects + [e.name for e in cf.baselines]
        hw_status, hw_note, hw_hit = self._hardware(cf.hardware, aligned, support_sentences, required, bool(cf.numbers))
        if hw_status == "conflict":
            conflicts.append(hw_note)
            if hw_hit is not None:
                deciding.append(hw_hit)
        elif hw_note:
            notes.append(hw_note)

        qualitative_ok, q_note, q_hit = (True, "", None)
        if not cf.numbers:
            qualitative_ok, q_note, q_hit, antonym = self._qualitative(claim.text, cf, aligned, subjects)
            if antonym:
                conflicts.append(antonym)
            if q_note:
                notes.append(q_note)
            if q_hit is not None:
                deciding.append(q_hit)

        evidence_hits = list(dict.fromkeys([h.chunk.chunk_id for h in deciding] + [h.chunk.chunk_id for h in hits]))
        by_id = {h.chunk.chunk_id: h for h in hits}
        evidence = to_evidence([by_id[i] for i in evidence_hits][: max(3, len(set(h.chunk.chunk_id for h in deciding)))], source_id)

        if conflicts:
            label, confidence = "CONTRADICTED", min(0.95, 0.7 + 0.05 * len(conflicts) + 0.1 * any("belongs to" in c for c in conflicts))
            rationale = "; ".join(conflicts)
        elif not subjects and not aligned:
            label, confidence, rationale = "NOT_ENOUGH_INFO", 0.5, "no aligned evidence"
        elif cf.numbers and unknown_numbers == 0 and hw_status != "unknown":
            label, confidence = "SUPPORTED", min(0.95, 0.7 + 0.05 * supported_numbers)
            rationale = "; ".join(notes)
        elif not cf.numbers and qualitative_ok and hw_status != "unknown":
            label, confidence, rationale = "SUPPORTED", 0.7, "; ".join(notes)
        else:
            label, confidence = "NOT_ENOUGH_INFO", 0.6
            rationale = "; ".join(notes) or ("no evidence names " + ", ".join(subjects) if subjects else "unsettled")
        return Verdict(claim_id=claim.claim_id, claim_text=claim.text, label=label, confidence=round(confidence, 3),
                       verifier=self.name, evidence=evidence, rationale=rationale)

    def _support(self, c: Quantity, cf: SentenceFacts, aligned: list[_Sentence], subjects: list[str],
                 claim_baselines: list[str]):
        """The first aligned number that bears ``c`` out, and else a same-sentence rival in ``c``'s slot.

        An evidence sentence that lists several results ("1.26x for single-batch inference, 11.57x for
        beam search") bears a claimed value out only when that value sits in the slot whose words match
        the claim's ("11.57x for single-batch inference" is the wrong slot). A result measured against
        other baselines ("4x over T5-XXL") does not bear out a claim against the claim's baselines.
        """
        slot_rival = None
        claim_slot = _slot_words(cf, c)
        claim_quals = _slot_qualifiers(cf, c)
        for s in aligned:
            if claim_baselines and s.facts.baselines and not any(
                    names_match(b, e.name) for b in claim_baselines for e in s.facts.entities):
                continue
            candidates = s.facts.numbers_for(subjects)
            for e in candidates:
                if not (metrics_overlap(c, e, strict=False) and values_consistent(c, e, self.rel_tol, self.approx_tol)):
                    continue
                # A claimed lower bound ("more than 40%") is met by any larger number, so the number must
                # measure the same thing, not merely not be known to differ ("66% of tokens" is no throughput gain).
                # The metrics are read from each number's own slot, as a clause may report several things.
                if c.bound == "lower" and c.high is None and not _same_slot_metric(cf, c, s.facts, e):
                    continue
                others = [o for o in candidates if o is not e and units_compatible(c, o)
                          and not values_consistent(c, o, self.rel_tol, self.approx_tol)]
                # 1. a qualifier of the claim ("active", "in FP8", "than Fast-dLLM") that the matched number
                #    lacks but another number of the sentence carries: the value belongs to another slot
                e_quals = _slot_qualifiers(s.facts, e)
                mismatch = any(g in e_quals and not _shares(g, q, e_quals[g]) for g, q in claim_quals.items())
                rival = next((o for o in others for g, q in claim_quals.items()
                              if not _shares(g, q, e_quals.get(g, [])) and _shares(g, q, _slot_qualifiers(s.facts, o).get(g, []))),
                             None)
                # 2. another number whose slot shares clearly more of the claim's words
                if rival is None:
                    own = len(claim_slot & _slot_words(s.facts, e))
                    best = max(((len(claim_slot & _slot_words(s.facts, o)), o) for o in others),
                               key=lambda t: t[0], default=(0, None))
                    if best[1] is not None and best[0] >= self.slot_margin and best[0] >= own + self.slot_margin:
                        rival = best[1]
                if rival is not None:
                    slot_rival = slot_rival or (s, rival)
                    continue
                if mismatch:
                    continue
                return (s, e), None
        return None, slot_rival

    def _misattributed(self, c: Quantity, sentences: list[_Sentence], subjects: list[str]) -> str:
        """Where the claimed value does appear, attached to another entity (the misattribution case)."""
        for s in sentences:
            owned = dict((id(q), o) for q, o in s.facts.numbers_owned_elsewhere(subjects))
            for e in s.facts.numbers:
                if e.high is not None or not values_consistent(c, e, self.rel_tol, self.approx_tol):
                    continue
                if id(e) in owned:
                    return f"; '{e.text}' belongs to {owned[id(e)]} ({s.hit.chunk.chunk_id})"
                if subjects and not s.facts.mentions(subjects):
                    other = ", ".join(s.facts.subjects()[:2]) or s.hit.chunk.arxiv_id
                    return f"; '{e.text}' belongs to {other} ({s.hit.chunk.chunk_id})"
        return ""

    def _hardware(self, claimed: list[Entity], aligned: list[_Sentence], support: list[_Sentence], required: list[str],
                  has_numbers: bool):
        if not claimed:
            return "none", "", None
        # Only a sentence that reports this claim's result can show its hardware is wrong: one that bore
        # out a claimed number, or (for a claim without numbers) one that names all the claim's entities.
        relevant = [s for s in support if s.facts.hardware]
        if not relevant and not has_numbers and required:
            relevant = [s for s in aligned if s.facts.hardware and self._names_all(s, required)]
        seen = [(s, e) for s in relevant for e in s.facts.hardware]
        if not seen:
            return "unknown", "evidence names no hardware for " + ", ".join(e.name for e in claimed), None
        for c in claimed:
            same = [(s, e) for s, e in seen if _hardware_key(e) == _hardware_key(c)]
            if not same:
                s, e = seen[0]
                return "conflict", f"claim names {c.name} but {s.hit.chunk.chunk_id} reports {e.name}", s.hit
            s, e = same[0]
            if c.value is not None and e.value is not None and c.value != e.value:
                return "conflict", f"claim uses {c.value:g}x {c.name}, {s.hit.chunk.chunk_id} uses {e.value:g}x", s.hit
            if c.unit and e.unit and c.unit != e.unit:
                return "conflict", f"claim names {c.name} {c.unit}, {s.hit.chunk.chunk_id} names {e.unit}", s.hit
        return "match", "hardware " + ", ".join(e.name for e in claimed) + " matches", None

    @staticmethod
    def _names_all(s: _Sentence, required: list[str]) -> bool:
        pool = [e.name for e in s.facts.entities if e.kind in ("model", "baseline", "dataset")] + list(s.facts.inherited)
        return all(any(names_match(r, p) for p in pool) for r in required)

    def _qualitative(self, text: str, cf: SentenceFacts, aligned: list[_Sentence], subjects: list[str]):
        """A claim with no numbers: one aligned sentence must name all its entities, and the chunk cover its words."""
        required = subjects + [e.name for e in cf.baselines]
        candidates = [s for s in aligned if self._names_all(s, required)]
        if not candidates:
            missing = ", ".join(required) if required else "the claim"
            return False, f"no single evidence sentence covers {missing}", None, ""
        claim_words = content_stems(text)
        best, best_cov = None, -1.0
        for s in candidates:
            cov = len(claim_words & content_stems(s.hit.chunk.text)) / max(1, len(claim_words))
            if cov > best_cov:
                best, best_cov = s, cov
        antonym = ""
        low_claim, low_ev = text.lower(), best.hit.chunk.text.lower()
        for a, b in ANTONYMS:
            for x, y in ((a, b), (b, a)):
                if x in low_claim and y in low_ev and y not in low_claim and (x not in low_ev or _overturned(low_ev, x, y)):
                    antonym = f"claim says '{x}' but {best.hit.chunk.chunk_id} says '{y}'"
        ok = best_cov >= self.min_coverage and best.hit.score >= self.support_similarity
        note = f"content coverage {best_cov:.2f}, retrieval cosine {best.hit.score:.2f} ({best.hit.chunk.chunk_id})"
        return ok, note, best.hit, antonym
