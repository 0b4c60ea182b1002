"""The claim checks' lexicons, read once from tasks/claims/data/lexicon.yaml."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import yaml

LEXICON_PATH = Path(__file__).parent / "data" / "lexicon.yaml"


@functools.cache
def lexicon() -> dict:
    """The raw lexicon mapping (see the YAML file for what each entry means)."""
    return yaml.safe_load(LEXICON_PATH.read_text())


@functools.cache
def pattern(key: str, sub: str | None = None) -> re.Pattern:
    """A compiled, case-insensitive pattern: ``pattern('contrast')`` or ``pattern('evaluation', 'up')``."""
    raw = lexicon()[key] if sub is None else lexicon()[key][sub]
    return re.compile(raw, re.I)


@functools.cache
def pattern_group(key: str) -> dict[str, re.Pattern]:
    """A name -> compiled pattern mapping, e.g. ``pattern_group('architectures')``."""
    return {name: re.compile(raw, re.I) for name, raw in lexicon()[key].items()}


@functools.cache
def qualifier_groups() -> dict[str, dict[str, re.Pattern]]:
    return {g: {k: re.compile(v, re.I) for k, v in d.items()} for g, d in lexicon()["qualifier_groups"].items()}


def antonyms(key: str) -> list[tuple[str, str]]:
    """Opposed word pairs; an entry may be a pair of words or a pair of groups (every word against every word)."""
    out = []
    for a, b in lexicon()[key]:
        out += [(x, y) for x in ([a] if isinstance(a, str) else a) for y in ([b] if isinstance(b, str) else b)]
    return out
