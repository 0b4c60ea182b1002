"""Check "attribution": is the result reported for the claimed hardware, baseline, dataset and architecture?

A real number attached to the wrong model, baseline or setup is the classic misreport; such a claim must
never be SUPPORTED. (A number that belongs to another model altogether is caught by "numbers": the
claim's actor is reported with another value, or the value is owned by another name.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tasks.claims.align import Alignment, Sentence, names_all
from tasks.claims.check_direction import _support_sentences
from tasks.claims.entities import hardware_mentions, name_parts, names_match
from tasks.claims.findings import Finding, register
from tasks.claims.lexicon import pattern_group
from tasks.claims.number_match import Tolerance, match_numbers
from tasks.claims.rivals import same_hardware
from tasks.claims.slots import plain


def same_family_other_version(a: str, b: str) -> bool:
    """'LLaMA2 7B' and 'LLaMA3 8B': one family name, another version or size."""
    pa, pb = name_parts(a), name_parts(b)
    return bool(pa and pb) and pa[0] == pb[0] and len(pa[0]) >= 3 and pa[0].isalpha() and len(pa) > 1 and len(pb) > 1 \
        and not names_match(a, b)


def _hardware_of(s: Sentence) -> list:
    """The hardware a sentence names, or else its paper's title ("Dissecting the NVIDIA Hopper Architecture")."""
    return s.facts.hardware or hardware_mentions(s.hit.chunk.title or "")


def architectures(s_text: str) -> set[str]:
    return {k for k, r in pattern_group("architectures").items() if r.search(s_text)}


def listed_counts(s: Sentence, hw) -> set[float]:
    """Counts listed right before a counted accelerator share it: "on 16 and 2,048 A100 GPUs" counts 16 A100s too."""
    out, end = set(), hw.span[0]
    for q in sorted(s.facts.numbers, key=lambda q: -q.span[0]):
        if q.span[1] > end or q.unit or not _LISTED.match(s.facts.text[q.span[1]:end]):
            continue
        out.add(q.value)
        end = q.span[0]
    return out


_LISTED = re.compile(r"^\s*(?:,\s*)?(?:and|or)?\s*$")


def _f(name: str, kind: str, detail: str, s: Sentence | None) -> Finding:
    return Finding(name, kind, detail, s.chunk_id if s else None, float(s.hit.score) if s else 0.5)


@register("attribution")
@dataclass
class Attribution:
    """Hardware named by the sentence that reports the result (other hardware or GPU count: contradiction;
    none named: gap); each claimed baseline named by the aligned evidence (a baseline of the same family in
    another version, or only other baselines beside the matched result: contradiction); the architecture
    of the supporting sentence not another one."""

    tol: Tolerance = Tolerance()

    def __call__(self, al: Alignment) -> list[Finding]:
        support = _support_sentences(al, self.tol)
        return (self._comparators(al) + self._hardware(al, support) + self._baselines(al, support)
                + self._architecture(al, support))

    def _comparators(self, al: Alignment) -> list[Finding]:
        """The claimed value is reported, but against another comparator ("2.4x over Megatron-LM", not Tutel)."""
        return [_f(self.name, "contradict", f"claim gives '{m.claimed.text}' against {m.comparator[0]} but "
                   f"{m.sentence.chunk_id} reports '{m.evidence.text}' against {m.comparator[1]}", m.sentence)
                for m in match_numbers(al, self.tol) if m.status == "other_comparator"]

    def _hardware(self, al: Alignment, support: list[Sentence]) -> list[Finding]:
        claimed = al.facts.hardware
        if not claimed:
            return []
        relevant = [s for s in support if _hardware_of(s)] if al.facts.numbers else []
        if not relevant and support:  # the abstract names its setup in another sentence ("... on TPU v4 slices")
            papers = {s.hit.chunk.arxiv_id for s in support}
            relevant = [s for s in al.sentences if s.hit.chunk.arxiv_id in papers and s.facts.hardware]
        if not relevant and not al.facts.numbers:
            relevant = [s for s in al.aligned if _hardware_of(s) and (not al.required or names_all(s, al.required))]
        if not relevant and not al.facts.numbers and not al.required and al.hits:  # names no system: its best paper
            best = max(al.hits, key=lambda h: h.score).chunk.arxiv_id
            relevant = [s for s in al.sentences if s.hit.chunk.arxiv_id == best and _hardware_of(s)]
        seen = [(s, e) for s in relevant for e in _hardware_of(s)]
        if not seen:
            return [_f(self.name, "gap", "evidence names no hardware for " + ", ".join(e.name for e in claimed), None)]
        for c in claimed:
            same = [(s, e) for s, e in seen if same_hardware(e, c)]
            if not same:
                s, e = seen[0]
                return [_f(self.name, "contradict", f"claim names {c.name} but {s.chunk_id} reports {e.name}", s)]
            papers = {t.hit.chunk.arxiv_id for t, _ in same}  # "on one T4" ... "on 2-4 T4 GPUs": any sentence of the paper
            anywhere = same + [(t, x) for t in al.sentences if t.hit.chunk.arxiv_id in papers for x in t.facts.hardware
                               if same_hardware(x, c)]
            s, e = next(((t, x) for t, x in anywhere if x.value == c.value or c.value in listed_counts(t, x)), same[0])
            if c.value is not None and e.value is not None and c.value != e.value and c.value not in listed_counts(s, e):
                return [_f(self.name, "contradict", f"claim uses {c.value:g}x {c.name}, {s.chunk_id} uses {e.value:g}x", s)]
            if c.unit and e.unit and c.unit != e.unit:
                return [_f(self.name, "contradict", f"claim names {c.name} {c.unit}, {s.chunk_id} names {e.unit}", s)]
        s = seen[0][0]
        return [_f(self.name, "support", "hardware " + ", ".join(e.name for e in claimed) + " matches", s)]

    def _baselines(self, al: Alignment, support: list[Sentence]) -> list[Finding]:
        out = []
        for b in al.baselines:
            if any(names_match(b, e.name) for s in al.aligned for e in s.facts.entities):
                continue
            swap = next(((s, e) for s in al.aligned for e in s.facts.baselines if same_family_other_version(b, e.name)), None)
            if swap is None:  # the sentence that bears the result out compares with others only
                swap = next(((s, e) for s in support for e in s.facts.baselines), None)
            if swap is not None:
                out.append(_f(self.name, "contradict", f"claim compares with {b} but {swap[0].chunk_id} compares "
                              f"with {swap[1].name}", swap[0]))
            else:
                out.append(_f(self.name, "gap", f"no aligned evidence names the baseline {b}", None))
        return out

    def _architecture(self, al: Alignment, support: list[Sentence]) -> list[Finding]:
        claimed = architectures(plain(al.facts))
        for s in support:
            named = architectures(plain(s.facts))
            if claimed and named and not (claimed & named):
                return [_f(self.name, "contradict", f"claim names {', '.join(sorted(claimed))} but {s.chunk_id} "
                           f"names {', '.join(sorted(named))}", s)]
        return []
