"""Which way a sentence moves a named thing: "raises the threshold" moves the threshold up, "the block size is
progressively reduced" moves the block size down. A number-free claim that moves a thing one way where the
evidence moves the same thing only the other way is contradicted (check "polarity").

Only plain change verbs count (lexicon ``change_verbs``); their object is the next few content words of an active
verb's clause ("lowers the M2T threshold"), or the few words before the auxiliary of a passive one ("the block
size of block diffusion is increased")."""

from __future__ import annotations

import functools
import re

from tasks.claims.lexicon import lexicon
from tasks.claims.slots import content_stems

_WINDOW = 3
_AUX = re.compile(r"\b(?:is|are|was|were|be|been|being|gets?|got)\s+(?:\w+ly\s+)?$", re.I)
_BREAK = re.compile(r"[,;:.()]|\b(?:and|but|while|whereas|then|before|after|which|that)\b", re.I)


@functools.cache
def _verbs() -> dict[str, re.Pattern]:
    return {way: re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b", re.I)
            for way, words in lexicon()["change_verbs"].items()}


def _content(text: str) -> list[str]:
    return [w for w in text.split() if content_stems(w)]


def _object(text: str, m: re.Match) -> set[str]:
    """Content stems of what the verb at ``m`` moves: the next few content words of its clause, or for a passive
    verb the last few before its auxiliary."""
    aux = _AUX.search(text[:m.start()])
    if aux:  # passive: "the block size of block diffusion is (progressively) increased"
        words = _content(_BREAK.split(text[:aux.start()])[-1])[-_WINDOW:]
    else:
        words = _content(_BREAK.split(text[m.end():])[0])[:_WINDOW]
    return content_stems(" ".join(words))


def moves(text: str) -> set[tuple[str, str]]:
    """(direction, stem) for each thing a change verb of ``text`` moves; negated verbs are left out."""
    from tasks.claims.check_direction import negated
    out = set()
    for way, rx in _verbs().items():
        for m in rx.finditer(text):
            if not negated(text, m.start()):
                out |= {(way, w) for w in _object(text, m)}
    return out


def change_clash(claim: str, evidence: str) -> str:
    """The claim moves a thing one way where the evidence moves it only the other way."""
    said, found = moves(claim), moves(evidence)
    for way, thing in sorted(said):
        other = "down" if way == "up" else "up"
        if (other, thing) in found and (way, thing) not in found:
            return f"claim moves '{thing}' {way} but the evidence moves it {other}"
    return ""


_SKIP = {"the", "a", "an", "any", "its", "their", "further", "additional", "extra"}


def _needs(text: str) -> dict[str, set[str]]:
    """{"need": stems, "free": stems}: what the text says a thing needs ("requires fine-tuning the model", "has to
    be fine-tuned") or does without ("without any fine-tuning", "no need to retrain"); lexicon ``requirement``."""
    lex, out = lexicon()["requirement"], {"need": set(), "free": set()}
    for way in ("need", "free"):
        for m in re.finditer(lex[way], text, re.I):
            words = [w.lower() for w in re.findall(r"[A-Za-z][\w-]*", text[m.end():m.end() + 60])]
            words = [w for w in words if w not in _SKIP]
            if not words:
                continue
            kind = "free" if way == "need" and words[0] in ("no", "neither", "little") else way
            words = words[1:] if words[0] in ("no", "neither", "little") else words
            if words and (kind == "free" or not re.search(r"\b(?:not|no|never)\s+(?:\w+\s+)?$", text[:m.start()], re.I)):
                out[kind] |= content_stems(words[0].replace("-", ""))
    return out


def requirement_clash(claim: str, evidence: str) -> str:
    """The claim does without what the evidence says is required, or requires what the evidence does without."""
    said, found = _needs(claim), _needs(evidence)
    for way, other in (("free", "need"), ("need", "free")):
        for thing in sorted(said[way] & found[other] - found[way]):
            return f"claim says '{thing}' is {'not ' if way == 'free' else ''}needed; the evidence says it is" \
                   f"{'' if way == 'free' else ' not'}"
    return ""
