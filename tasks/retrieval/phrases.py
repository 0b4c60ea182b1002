"""Read a research question: key phrases, named things (models, hardware, acronyms) and corpus synonyms.

Everything here is a pure function of the question text and, for synonyms, of the texts the first search
returned; nothing is tuned to one question. Words that shape a question but name nothing ("how", "compare")
live in ``data/question_words.txt``.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

_WORDS_FILE = Path(__file__).parent / "data" / "question_words.txt"
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-/+$]*[A-Za-z0-9+]|[A-Za-z0-9]")
# A named thing: has a digit (H100, Llama-2-70B, 64), or an inner capital (LLaDA, dLLM, MoE), or is all caps (GPU, KV).
_NAMED = re.compile(r"^(?=.*[A-Za-z])(?:.*\d.*|.+[A-Z].*|[A-Z]{2,}s?)$")
# "long form (ACRONYM)" as papers write it, e.g. "Mixture-of-Experts (MoE)", "key-value (KV) cache".
_DEFINITION = re.compile(r"((?:[A-Za-z][\w\-]*\s+){0,5}[A-Za-z][\w\-]*)\s*\(\s*([A-Za-z][A-Za-z0-9\-]{1,11})s?\s*\)")


@lru_cache(maxsize=1)
def question_words() -> frozenset[str]:
    """Stop words plus the question-shaping words of the data file, lower case."""
    lines = _WORDS_FILE.read_text(encoding="utf-8").splitlines()
    own = {w.strip().lower() for w in lines if w.strip() and not w.lstrip().startswith("#")}
    return frozenset(ENGLISH_STOP_WORDS) | frozenset(own)


def tokens(text: str) -> list[str]:
    """Word tokens as written (case kept); hyphenated and versioned names stay whole ('Llama-2-70B', 'v2')."""
    return _TOKEN.findall(text)


def _is_stop(token: str) -> bool:
    return token.lower() in question_words()


def key_phrases(text: str, max_words: int = 4) -> list[str]:
    """Runs of content words between stop words and punctuation (RAKE-style), in question order, deduplicated.

    A run longer than ``max_words`` is split into pieces of at most that many words.
    """
    phrases: list[str] = []
    for segment in re.split(r"[,;:?!()\[\]{}\"“”]|\.(?=\s|$)|\s[-–—]\s", text):
        run: list[str] = []
        for token in tokens(segment) + ["the"]:  # a trailing stop word flushes the last run
            if _is_stop(token) or not re.search(r"[A-Za-z]", token):
                while run:
                    phrases.append(" ".join(run[:max_words]))
                    run = run[max_words:]
            else:
                run.append(token)
    seen: set[str] = set()
    return [p for p in phrases if not (p.lower() in seen or seen.add(p.lower()))]


def named_things(text: str) -> list[str]:
    """Model names, hardware and acronyms as written in ``text`` (tokens with a digit, an inner capital or all caps)."""
    seen: set[str] = set()
    found = []
    for token in tokens(text):
        if _NAMED.match(token) and not _is_stop(token) and not token.isdigit() and token.lower() not in seen:
            seen.add(token.lower())
            found.append(token)
    return found


def acronym_definitions(texts: list[str]) -> dict[str, str]:
    """Acronym -> its most frequent long form, mined from ``texts`` ("Mixture-of-Experts (MoE)" -> MoE).

    A long form is accepted when its words' initials (hyphen parts included) spell the acronym in order.
    """
    votes: dict[str, Counter[str]] = {}
    for text in texts:
        for match in _DEFINITION.finditer(text):
            words, acronym = match.group(1).split(), match.group(2)
            long_form = _matching_tail(words, acronym)
            if long_form:
                votes.setdefault(acronym.lower(), Counter())[long_form.lower()] += 1
    return {acr: counts.most_common(1)[0][0] for acr, counts in votes.items()}


def _matching_tail(words: list[str], acronym: str) -> str | None:
    """The shortest tail of ``words`` whose part initials spell ``acronym`` (case-insensitive), or None."""
    letters = [c.lower() for c in acronym if c.isalpha()]
    for start in range(len(words) - 1, -1, -1):
        tail = words[start:]
        parts = [p for w in tail for p in re.split(r"[-/]", w) if p]
        if not parts or parts[0][0].lower() != letters[0]:
            continue
        if _initials_match([p.lower() for p in parts], letters):
            return " ".join(tail)
    return None


def _initials_match(parts: list[str], letters: list[str]) -> bool:
    """Whether the acronym's letters can be taken, in order, from the parts' initials (small words may be skipped)."""
    i = 0
    for part in parts:
        if i < len(letters) and part[0] == letters[i]:
            i += 1
            while i < len(letters) and len(part) > 1 and letters[i] in part[1:] and part.startswith("".join(letters[i - 1:i + 1])):
                i += 1
        elif part not in ("of", "and", "the", "for", "to", "a", "in", "on"):
            return False
    return i == len(letters)


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def name_keys(names: list[str]) -> list[str]:
    """Match keys for versioned names: the leading parts up to the first one with a digit, squashed.

    'Llama-2-70B' -> 'llama2', 'H100-class' -> 'h100', 'LLaDA2.0-mini' -> 'llada2'. Names without a digit
    (GPU, MoE) give no key: they name a field, not one model or chip. Keys shorter than 4 characters are dropped.
    """
    keys = []
    for name in names:
        parts = [p for p in re.split(r"[-.\s_/]", name) if p]
        for i, part in enumerate(parts):
            if any(ch.isdigit() for ch in part):
                key = _squash("".join(parts[: i + 1]))
                if len(key) >= 4 and key not in keys:
                    keys.append(key)
                break
    return keys


def named_in_title(title: str, keys: list[str]) -> list[str]:
    """The keys (see ``name_keys``) that the title names."""
    squashed = _squash(title)
    return [k for k in keys if k in squashed]
