"""Who else reports a claimed number: the hardware a sentence is about, the actor's own paper, and the numbers in a
nameless claim's own slot (number alignment, tasks/claims/number_match.py, reads these)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasks.claims.align import Alignment, Sentence
from tasks.claims.context import metrics_overlap
from tasks.claims.entities import names_match
from tasks.claims.lexicon import lexicon, pattern
from tasks.claims.number_agree import comparable, loose, units_compatible, values_consistent
from tasks.claims.records import Entity, Quantity
from tasks.claims.slots import content_stems, list_head, same_counted, same_slot_metric, slot_words

if TYPE_CHECKING:
    from tasks.claims.number_match import Tolerance


def hardware_key(e: Entity) -> str:
    return e.name.replace(" ", "").upper()


def _architecture(key: str) -> str | None:
    """The GPU architecture a hardware key names or belongs to ('H100' -> 'HOPPER', 'HOPPER' -> 'HOPPER')."""
    for arch, gpus in lexicon()["gpu_architectures"].items():
        if key == arch or key in {g.replace(" ", "").upper() for g in gpus}:
            return arch
    return None


def same_hardware(a: Entity, b: Entity) -> bool:
    """One accelerator, or an architecture and one of its GPUs ("Hopper" and "H100")."""
    ka, kb = hardware_key(a), hardware_key(b)
    if ka == kb:
        return True
    arch = {k: _architecture(k) for k in (ka, kb)}
    return (arch[ka] == kb or arch[kb] == ka) and arch[ka] is not None


def other_setup(s: Sentence, claimed: list[Entity]) -> bool:
    """Does the sentence describe hardware, none of it the claimed hardware?"""
    if any(same_hardware(h, c) for h in s.facts.hardware for c in claimed):
        return False
    return bool(s.facts.hardware) or bool(pattern("device_words").search(s.facts.text))


def differs(claim_text: str, c: Quantity, text: str, e: Quantity, tol: Tolerance) -> bool:
    """Could evidence number ``e`` refute claimed ``c``: the same kind of thing (unit, specific metric, counted noun,
    scale) with a value that does not bear ``c`` out? Whose number it is, the callers judge."""
    return units_compatible(c, e) and metrics_overlap(c, e, strict=True) and comparable(c, e) \
        and same_counted(claim_text, c, text, e) and not values_consistent(loose(c), e, tol.rel_tol, tol.approx_tol)


def own_paper_rival(al: Alignment, c: Quantity, s: Sentence, tol: Tolerance):
    """A value matched in another paper does not settle a number the actor's own paper gives otherwise ("Fiddler on a
    single 80 GB GPU": 80 GB is an A100's memory in another paper; Fiddler's own abstract says 24 GB). Returns the own
    paper's (sentence, number) that differs, or None."""
    own = [x for x in al.aligned if any(names_match(p, i) for p in al.subjects for i in x.facts.inherited)]
    if not own or s.hit.chunk.arxiv_id in {x.hit.chunk.arxiv_id for x in own}:
        return None
    own = [x for x in own if not (al.facts.hardware and other_setup(x, al.facts.hardware))]
    if any(values_consistent(c, e, tol.rel_tol, tol.approx_tol) and metrics_overlap(c, e, strict=False)
           for x in own for e in x.facts.numbers_for(al.subjects)):
        return None  # the own paper bears the value out as well
    rivals = [(x, e) for x in own for e in x.facts.numbers_for(al.subjects)
              if e.unit and differs(al.facts.text, c, x.facts.text, e, tol) and same_slot_metric(al.facts, c, x.facts, e)]
    words = slot_words(al.facts, c)
    return max(rivals, key=lambda r: len(words & slot_words(r[0].facts, r[1])), default=None)


def unnamed_rivals(al: Alignment, c: Quantity, tol: Tolerance, min_shared: int = 3,
                   min_coverage: float = 0.6) -> list[tuple[Sentence, Quantity]]:
    """For a claim that names no system ("uptraining ... costs about a fifth of the pre-training compute"): the
    numbers of the same unit and metric, in a paper whose chunks cover ``min_coverage`` of the claim's words and that
    bears out the claim's other numbers, whose slot shares at least ``min_shared`` of the claim's slot words."""
    words, claimed = slot_words(al.facts, c), content_stems(al.claim.text)
    papers = {}  # the claim's paper is one whose chunks cover most of its words ("Scope" reads it the same way)
    for h in al.hits:
        papers[h.chunk.arxiv_id] = papers.get(h.chunk.arxiv_id, set()) | content_stems(h.chunk.text)
    about = {p for p, ws in papers.items() if len(claimed & ws) >= min_coverage * max(1, len(claimed))}
    for o in (o for o in al.facts.numbers if o is not c):  # ... and that bears out the claim's other numbers
        about = {p for p in about if any(values_consistent(o, e, tol.rel_tol, tol.approx_tol) for x in al.aligned
                                         if x.hit.chunk.arxiv_id == p for e in x.facts.numbers)}
    return [(s, e) for s in al.aligned if s.hit.chunk.arxiv_id in about for e in s.facts.numbers
            if e.unit and differs(al.facts.text, c, s.facts.text, e, tol)
            and len(words & (slot_words(s.facts, e) - list_head(s.facts))) >= min_shared]
