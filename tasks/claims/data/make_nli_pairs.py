"""Write tasks/claims/data/nli-pairs.jsonl: self-written premise/hypothesis pairs for the semantic check.

Templates over invented system names and generic ML-systems wording (no probe or dev claim, no paper text),
so the file can be shipped and regenerated: ``python tasks/claims/data/make_nli_pairs.py``.
Labels: entail (a faithful paraphrase), contradict (direction, ranking, trend or regime reversed),
neutral (same subject, another topic).
"""

import itertools
import json
import random
from pathlib import Path

SYSTEMS = ["AlphaServe", "ZetaMoE", "Kestrel", "NovaKV", "Orbit-7B", "Quill", "Marlin-X", "Tern", "Basalt", "Heron-2"]
BASELINES = ["a dense baseline", "the previous kernels", "standard autoregressive decoding", "a static scheduler",
             "prior offloading systems", "the original model"]
DOWN_METRICS = ["latency", "memory use", "energy per token", "serving cost", "communication volume", "cache size"]
UP_METRICS = ["throughput", "accuracy", "goodput", "expert reuse", "GPU utilisation", "tokens per second"]
DRIVERS = ["the batch size", "the number of parallel tokens", "the context length", "the number of experts"]
RATES = ["linearly", "almost linearly", "sublinearly", "steadily"]

PAIRS: list[tuple[str, str, str]] = []
RNG = random.Random(14)  # a fixed sample of the template grid


def add(p: str, h: str, label: str) -> None:
    PAIRS.append((p, h, label))


for s, b, m in itertools.product(SYSTEMS, BASELINES, DOWN_METRICS):
    if RNG.random() > 0.12:
        continue
    add(f"{s} reduces {m} compared with {b}.", f"{s} lowers {m} relative to {b}.", "entail")
    add(f"{s} reduces {m} compared with {b}.", f"Compared with {b}, {s} needs less {m}.", "entail")
    add(f"{s} reduces {m} compared with {b}.", f"{s} increases {m} compared with {b}.", "contradict")
    add(f"{s} reduces {m} compared with {b}.", f"{s} raises {m} relative to {b}.", "contradict")
    add(f"{s} reduces {m} compared with {b}.", f"{s} was trained on a mixture of code and web text.", "neutral")
for s, b, m in itertools.product(SYSTEMS, BASELINES, UP_METRICS):
    if RNG.random() > 0.12:
        continue
    add(f"{s} outperforms {b} on {m}.", f"{s} beats {b} in {m}.", "entail")
    add(f"{s} outperforms {b} on {m}.", f"{s} achieves higher {m} than {b}.", "entail")
    add(f"{s} outperforms {b} on {m}.", f"{s} underperforms {b} on {m}.", "contradict")
    add(f"{s} outperforms {b} on {m}.", f"{s} trails {b} in {m}.", "contradict")
    add(f"{s} outperforms {b} on {m}.", f"{s} is released under an open licence.", "neutral")
for s, m, d, r in itertools.product(SYSTEMS, DOWN_METRICS + UP_METRICS, DRIVERS, RATES):
    if RNG.random() > 0.03:
        continue
    add(f"In {s}, {m} grows {r} with {d}.", f"{m.capitalize()} in {s} increases as {d} rises.", "entail")
    add(f"In {s}, {m} grows {r} with {d}.", f"In {s}, {m} stays constant as {d} rises.", "contradict")
    add(f"In {s}, {m} grows {r} with {d}.", f"{m.capitalize()} in {s} does not depend on {d}.", "contradict")
    add(f"In {s}, {m} stays flat as {d} increases.", f"In {s}, {m} grows with {d}.", "contradict")
    add(f"In {s}, {m} stays flat as {d} increases.", f"{m.capitalize()} in {s} is insensitive to {d}.", "entail")
    add(f"In {s}, {m} grows {r} with {d}.", f"{s} supports {d} up to a fixed limit.", "neutral")
for s, d in itertools.product(SYSTEMS, DRIVERS):
    add(f"{s} remains memory-bound even at large {d.split(' ', 1)[1]}.",
        f"{s} stays limited by memory bandwidth as {d} grows.", "entail")
    add(f"{s} remains memory-bound even at large {d.split(' ', 1)[1]}.",
        f"{s} becomes compute-bound once {d} is large.", "contradict")
    add(f"{s} targets personal machines at batch size one.", f"{s} is designed for large-batch datacenter serving.",
        "contradict")
    add(f"{s} targets personal machines at batch size one.", f"{s} is meant for single-user local inference.", "entail")
    add(f"{s} needs no retraining.", f"{s} requires fine-tuning the model first.", "contradict")
    add(f"{s} needs no retraining.", f"{s} works on the model as it is, without further training.", "entail")
    add(f"{s} needs no retraining.", f"{s} is written in Rust.", "neutral")

# A statement entails itself and its lightly reworded forms; without these the head learns "nearly the same
# words" means contradiction (a one-word flip), which is wrong.
for p in sorted({p for p, _, _ in PAIRS}):
    add(p, p, "entail")
    add(p, "As reported, " + p[0].lower() + p[1:], "entail")
    add(p, p.rstrip(".") + " in our experiments.", "entail")

if __name__ == "__main__":
    out = Path(__file__).with_name("nli-pairs.jsonl")
    with out.open("w") as fh:
        for p, h, label in PAIRS:
            fh.write(json.dumps({"premise": p, "hypothesis": h, "label": label}) + "\n")
    print(f"{len(PAIRS)} pairs -> {out}")
