"""Read one sentence into facts: who it is about, which numbers it gives, what each number measures.

Shared by the extractor (claims) and the hybrid verifier (evidence), so both sides are parsed alike.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from tasks.claims.entities import extract_entities, names_match
from tasks.claims.lexicon import pattern
from tasks.claims.numbers import parse_numbers
from tasks.claims.records import Entity, Quantity

# What a number measures, read from the words of its clause. Stems, matched case-insensitively.
METRIC_WORDS: dict[str, str] = {
    "speed": r"speed-?ups?|speeds?\s+(?:\w+\s+)?up|sped\s+(?:\w+\s+)?up|faster|slower|accelerat\w*|slowdown",
    "throughput": r"throughput|tokens? (?:per|each|every|a) second|tokens?/s",
    "latency": r"latenc(?:y|ies)|\btime\b|stall\w*|delay|wall-clock",
    "memory": r"memory|footprint|kv[- ]cache",
    "bandwidth": r"bandwidth|\bhbm\b",
    "experts": r"\bexperts?\b",
    "params": r"\bparam(?:eter)?s?\b",
    "accuracy": r"accuracy|performance|quality|\bscores?\b|perplexity",
    "utilisation": r"utili[sz]ation|\bmfu\b|of (?:theoretical )?peak",
    "flops": r"\bflops?\b|\bcompute\b|computation",
    "cost": r"\bcost\b|cheaper|gpu hours",
    "context": r"\bcontext\b",
    "batch": r"\bbatch(?: size)?\b",
    "tokens": r"(?<!per )(?<!each )(?<!every )\btokens?\b",
    "layers": r"\blayers?\b",
    "data": r"pre-?train\w*|\bdata\b",
    # a bare relative gain over baselines ("beats prior methods by 47%", "an average improvement of 47%")
    "gain": r"\bimprovements?\b|\bimproves?\b|\bimproved\b|outperform\w*|\bbeats?\b|\bgains?\b|surpass\w*",
}
_METRIC_RES = {name: re.compile(pattern, re.I) for name, pattern in METRIC_WORDS.items()}
WEAK_METRICS = {"tokens", "batch", "layers", "gain"}
_UNIT_METRIC = {"tokens/s": "throughput", "FLOP/s": "flops", "B/s": "bandwidth", "B": "memory", "s": "latency"}
_KIND_METRIC = {"params": "params", "tokens": "tokens"}
_CLAUSE_BREAK = re.compile(r"[,;:()]|\b(?:and|while|whereas|but|which|respectively|although)\b", re.I)
_QUALIFIERS = re.compile(r"more than|less than|up to|as much as|at least|at most|no more|no less", re.I)
# A cost/loss/penalty of X is a decrease by X ("at a cost of 0.3% accuracy", "a 0.5% accuracy loss"),
# read only when the clause has no explicit direction verb of its own.
_LOSS = re.compile(r"\b(?:(?:at|for|with)\s+(?:a|the)\s+(?:\w+\s+){0,2}(?:cost|price|expense)\s+of|losses?|penalt(?:y|ies)|degradation|costing|"
                   r"(?:accuracy|quality|performance|score)\s+(?:cost|hit))\b", re.I)
# A change noun right after the number decides its direction ("0.5% accuracy loss", "a 38% reduction").
_NOUN_AFTER = re.compile(r"^\s*(?:(?!(?:at|in|on|for|with|of|by|to|while)\s)[a-z\-]+\s+){0,2}?(?:(?P<down>loss(?:es)?|drops?|cost|penalty|degradation|decreases?|reductions?|declines?)"
                         r"|(?P<up>gains?|increases?|improvements?|boosts?|speed-?ups?))\b", re.I)
_GAPPED = re.compile(r"^\s*(?:(?:(?:the|its|their)\s+)?(?:[\w\-]+\s+){0,3}?by\s+)?(?:(?:about|roughly|nearly|almost|up to|over|"
                     r"more than|as much as|around)\s+)?$", re.I)  # "and latency by 38%", "and 15%"
_CONTRAST_BREAK = re.compile(r"\s*(?:while|whereas|but|although)\b", re.I)
_SETTING = re.compile(r"\b(?:on|for|with|using|in|into|to|via|across|of)\s+(?:the\s+|a\s+|an\s+|both\s+)?$", re.I)
_OWNER_AFTER = re.compile(r"^[\s\w\-/%.]{0,24}?\b(?:for|on|with|in)\s+(?:the\s+)?$", re.I)


def clause_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the clauses of a sentence (split at punctuation and coordinating words)."""
    spans, start = [], 0
    for m in _CLAUSE_BREAK.finditer(text):
        # "the throughput of LLaDA and Dream": an "and" between two names joins the names, not two clauses
        if m.group(0).lower() == "and" and re.search(r"\b[A-Z][\w.-]*\s$", text[:m.start()]) \
                and re.match(r"\s[A-Z][\w.-]*\b", text[m.end():]):
            continue
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    return [(a, b) for a, b in spans if b > a]


def metrics_of(text: str, quantity: Quantity | None = None) -> tuple[str, ...]:
    """The metric names a clause talks about, plus the one its unit implies."""
    found = {name for name, regex in _METRIC_RES.items() if regex.search(text)}
    if quantity is not None:
        if quantity.unit in _UNIT_METRIC:
            found.add(_UNIT_METRIC[quantity.unit])
        if quantity.kind in _KIND_METRIC:
            found.add(_KIND_METRIC[quantity.kind])
    return tuple(sorted(found))


def direction_of(text: str) -> str | None:
    text = _QUALIFIERS.sub(" ", text)
    up, down = bool(pattern("direction", "up").search(text)), bool(pattern("direction", "down").search(text))
    # "a 7.3x latency improvement" is a fall in latency: praise words give no direction to a lower-is-better quantity
    if up and not down and pattern("direction", "lower_is_better").search(text) \
            and not pattern("direction", "up").search(pattern("direction", "praise").sub(" ", text)):
        return None
    if not up and not down and _LOSS.search(text):
        return "down"
    return "up" if up and not down else "down" if down and not up else None


def _time_cut(q: Quantity) -> bool:
    """A time cut by a factor ("reduces step time by 1.73x"), which is a speed-up by that factor."""
    return q.unit == "x" and q.direction == "down" and bool(set(q.metrics) & {"latency", "time"})


def _as_speed(q: Quantity) -> set[str]:
    return set(q.metrics) | {"speed"} if _time_cut(q) else set(q.metrics)


def speedup_as_time_cut(a: Quantity, b: Quantity) -> bool:
    """One side a speed-up by a factor, the other a time cut by that factor: the same result said two ways."""
    return any(_time_cut(x) and y.unit == "x" and y.direction == "up" and "speed" in y.metrics for x, y in ((a, b), (b, a)))


def metrics_overlap(a: Quantity, b: Quantity, strict: bool) -> bool:
    """Do two quantities measure the same thing?

    Lenient (for support): unknown on either side is fine. Strict (to call a conflict): both must
    name a metric and share a specific one ('tokens' or 'batch' alone is too weak to say so).
    """
    # the evidence's time cut bears out a claimed speed-up; a claimed time cut names which time, a speed-up does not
    ma, mb = set(a.metrics), set(b.metrics) if strict else _as_speed(b)
    if not ma or not mb:
        return not strict
    shared = ma & mb
    if strict:
        return bool(shared - WEAK_METRICS) or (bool(shared) and not (ma - WEAK_METRICS) and not (mb - WEAK_METRICS))
    return bool(shared) or not (ma - WEAK_METRICS) or not (mb - WEAK_METRICS)


@dataclass(frozen=True)
class SentenceFacts:
    """What one sentence says: entities, numbers (with metric and owner) and hardware."""

    text: str
    entities: tuple[Entity, ...]
    numbers: tuple[Quantity, ...]
    owners: dict[int, str] = field(default_factory=dict)  # index into numbers -> explicit owner name
    inherited: tuple[str, ...] = ()  # the paper's subject, for sentences that say "it"

    @property
    def models(self) -> list[Entity]:
        return [e for e in self.entities if e.kind == "model"]

    @property
    def baselines(self) -> list[Entity]:
        return [e for e in self.entities if e.kind == "baseline"]

    @property
    def hardware(self) -> list[Entity]:
        return [e for e in self.entities if e.kind == "hardware"]

    @property
    def datasets(self) -> list[Entity]:
        return [e for e in self.entities if e.kind == "dataset"]

    def subjects(self) -> list[str]:
        return [e.name for e in self.models] + list(self.inherited)

    def actors(self) -> list[str]:
        """Who the sentence reports on: its paper's subject and the names not in a setting phrase.

        In "On the SDAR-30B-A3B model, TEAM reaches 2.2x" the number is TEAM's; SDAR is where it ran.
        """
        return list(self.inherited) + [e.name for e in self.models if not _SETTING.search(self.text[:e.span[0]])]

    def mentions(self, names: list[str], explicit_only: bool = False) -> bool:
        pool = [e.name for e in self.models] + ([] if explicit_only else list(self.inherited))
        return any(names_match(a, b) for a in names for b in pool)

    def numbers_for(self, subjects: list[str]) -> list[Quantity]:
        """The numbers of this sentence that can belong to ``subjects``.

        When the sentence ties numbers to named entities ("1.99x for Mixtral and 5.86x for Llama")
        and one of those entities is a subject, numbers tied to other entities are left out.
        """
        owners = self.owners
        if not owners or not any(names_match(o, s) for o in owners.values() for s in subjects):
            return list(self.numbers)
        return [q for i, q in enumerate(self.numbers) if i not in owners or any(names_match(owners[i], s) for s in subjects)]

    def numbers_owned_elsewhere(self, subjects: list[str]) -> list[tuple[Quantity, str]]:
        return [(self.numbers[i], o) for i, o in self.owners.items() if not any(names_match(o, s) for s in subjects)]


# "Compared with DeepSeek 67B, DeepSeek-V2 ...": a fronted comparison ends at its comma; the next name is the subject.
_FRONTED_COMPARISON = re.compile(r"^\s*(?:compared (?:with|to)|relative to|against|versus|vs\.?|unlike|in contrast to)\s+(?:the\s+)?$", re.I)


def _mark_coordinated_baselines(text: str, entities: list[Entity]) -> list[Entity]:
    """'beats Llama 2 70B and GPT-3.5': the second name is a baseline too."""
    out: list[Entity] = []
    for e in entities:
        prev = next((p for p in reversed(out) if p.kind in ("model", "baseline")), None)
        fronted = _FRONTED_COMPARISON.match(text[:prev.span[0]]) if prev is not None else None
        if e.kind == "model" and prev is not None and prev.kind == "baseline" \
                and re.fullmatch(r"\s*(?:,|,?\s*and|,?\s*or)\s*", text[prev.span[1]:e.span[0]]) \
                and not (fronted and text[prev.span[1]:e.span[0]].strip() == ","):
            e = e.model_copy(update={"kind": "baseline"})
        out.append(e)
    return out


def _owners(text: str, entities: list[Entity], numbers: list[Quantity]) -> dict[int, str]:
    owners: dict[int, str] = {}
    named = [e for e in entities if e.kind in ("model", "baseline")]
    for i, q in enumerate(numbers):
        # "5.86x for Llama-2-70B": a name right after the number, introduced by for/on/with/in
        for e in named:
            if 0 <= e.span[0] - q.span[1] <= 30 and _OWNER_AFTER.match(text[q.span[1]:e.span[0]]):
                owners[i] = e.name
                break
        else:
            # "LLaDA2.0-mini (16B)", "Dream's 580B tokens": a number in brackets right after a name, or its possessive
            for e in named:
                if re.fullmatch(r"\s*\(\s*(?:about\s+|~)?|['’]s\s+(?:(?:about|around|roughly|nearly|some|~)\s+)?",
                                text[e.span[1]:q.span[0]]):
                    owners[i] = e.name
    # "on A and B ... 39% and 15% respectively"
    resp = re.search(r"\brespectively\b", text)
    models = [e for e in named if e.kind == "model" and e.span[1] <= (resp.start() if resp else 0)]
    if resp and len(models) >= 2:
        before = [i for i, q in enumerate(numbers) if q.span[1] <= resp.start()]
        if before:
            unit = numbers[before[-1]].unit, numbers[before[-1]].kind
            run = [i for i in before if (numbers[i].unit, numbers[i].kind) == unit]
            # the names are the coordinated list ("A and B", "A, B and C") as long as the run of numbers
            group = next((g for g in reversed(_coordinated(text, models)) if len(g) >= 2 and len(g) <= len(run)), models)
            run = run[-len(group):]
            if len(run) == len(group):
                for i, e in zip(run, group):
                    owners[i] = e.name
    return owners


def _coordinated(text: str, entities: list[Entity]) -> list[list[Entity]]:
    """Runs of names joined only by commas / 'and' / 'or' ("Qwen3-30B and Qwen3-235B")."""
    groups: list[list[Entity]] = []
    for e in entities:
        if groups and re.fullmatch(r"\s*(?:,|,?\s*and|,?\s*or)\s*", text[groups[-1][-1].span[1]:e.span[0]]):
            groups[-1].append(e)
        else:
            groups.append([e])
    return groups


@functools.lru_cache(maxsize=8192)  # the verifier re-reads the same evidence sentences for every claim
def analyse_sentence(text: str, inherited: tuple[str, ...] = ()) -> SentenceFacts:
    """Parse a sentence into entities, numbers with metrics/direction/owner, and hardware (cached: read-only).

    Args:
        text: one sentence (or a one-sentence claim).
        inherited: subject names the sentence may refer to without naming (the paper's subject).
    """
    entities = _mark_coordinated_baselines(text, extract_entities(text))
    masked = [e.span for e in entities]
    numbers: list[Quantity] = []
    clauses = clause_spans(text)
    # Metric and direction words are read with the names blanked out: "Dynamic Expert Sharing" does
    # not make a latency figure an expert count.
    plain = list(text)
    for a, b in masked:
        plain[a:b] = " " * (b - a)
    plain = "".join(plain)
    for q in parse_numbers(text, masked=masked):
        idx = next((i for i, (a, b) in enumerate(clauses) if a <= q.span[0] < b), None)
        clause = plain[clauses[idx][0]:clauses[idx][1]] if idx is not None else plain
        direction = direction_of(clause)
        # "cuts experts by 55% and latency by 38%": the verb of an earlier clause carries over
        # ... only into a gapped clause ("and latency by 38%": no verb of its own), and not across a contrast
        gapped = idx is not None and _GAPPED.match(plain[clauses[idx][0]:q.span[0]])
        for j in range(idx - 1 if idx is not None and gapped else -1, -1, -1):
            if direction is not None or _CONTRAST_BREAK.match(text[clauses[j][1]:clauses[j + 1][0]]):
                break
            direction = direction_of(plain[clauses[j][0]:clauses[j][1]])
        noun = _NOUN_AFTER.match(plain[q.span[1]:q.span[1] + 40])
        if noun:
            direction = "down" if noun.group("down") else "up"
            if noun.group("up") and pattern("direction", "praise").search(noun.group(0)) \
                    and pattern("direction", "lower_is_better").search(noun.group(0)):
                direction = None  # "7.3x latency improvement": latency falls; the praise word gives no direction
        metrics = metrics_of(clause, q)
        prev = numbers[-1] if numbers else None
        q = _listed_unit(text, prev, q)
        if not metrics and prev is not None and (prev.unit, prev.kind) == (q.unit, q.kind) \
                and re.fullmatch(r"[\s,]*(?:and|or)?\s*", text[prev.span[1]:q.span[0]]):
            metrics = prev.metrics  # "drops by 39% and 15%": a coordinated number measures the same thing
        numbers.append(q.model_copy(update={"metrics": metrics, "direction": direction}))
    return SentenceFacts(text=text, entities=tuple(entities), numbers=tuple(numbers),
                         owners=_owners(text, entities, numbers), inherited=inherited)


def _listed_unit(text: str, prev: Quantity | None, q: Quantity) -> Quantity:
    """"892 tokens per second on HumanEval+, 801 on BigCodeBench": a bare number listed after a number with a unit,
    of the same order, takes that unit."""
    if prev is None or q.unit or q.kind != "plain" or not prev.unit or prev.high is not None:
        return q
    gap = text[prev.span[1]:q.span[0]]
    raw = re.match(r"[\d,]*\.?\d+", prev.text)
    if not raw or len(gap) > 40 or not re.search(r",|\band\b", gap) or re.search(r"[;.()]", gap):
        return q
    prev_raw = float(raw.group(0).replace(",", ""))
    if not prev_raw or not 0.2 <= q.value / prev_raw <= 5:
        return q
    return q.model_copy(update={"unit": prev.unit, "kind": prev.kind, "value": q.value * prev.value / prev_raw})
