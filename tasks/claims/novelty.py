"""First-run accuracy by how new a claim is: the table in tests/claims/data/SCORES.md.

    python -m tasks.claims.novelty --verdicts DIR --batch 22-25 --batch 26-28 ... [--data tests/claims/data]

For each probe N of a batch, ``DIR/first-N.jsonl`` holds its first-run verdicts, written by the design that first
scored it (SCORES.md names the sha): ``git worktree add /tmp/wt SHA && cd /tmp/wt && python -m tasks.claims.evaluate
eval-claims tests/claims/data/claims-probeN.jsonl --verifiers hybrid --no-ablation --out DIR/first-N.jsonl``.
Each claim is bucketed by the TF-IDF cosine (word 1-2-grams) to the nearest claim of every labelled file written
before its batch (claims-dev, claims-heldout-own and the probes numbered below the batch's first).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tasks.claims.evaluate import load_labelled

BUCKETS = ((0.0, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, 1.01))


def _verdicts(path: Path) -> list[str]:
    if not path.is_file():
        raise SystemExit(f"{path}: no first-run verdicts; write them with eval-claims --out (see this module's docstring)")
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r["label"] for r in rows if str(r.get("verifier", "hybrid")).startswith("hybrid")]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--verdicts", type=Path, required=True, help="folder of first-N.jsonl files")
    ap.add_argument("--batch", action="append", required=True, help="probe numbers written together, e.g. 22-25")
    ap.add_argument("--data", type=Path, default=Path("tests/claims/data"))
    ap.add_argument("--dev", type=Path, default=Path("../shared/corpus/claims-dev.jsonl"))
    args = ap.parse_args(argv)
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    probe = lambda n: load_labelled(args.data / f"claims-probe{n}.jsonl")  # noqa: E731
    base = (load_labelled(args.dev) if args.dev.is_file() else []) + load_labelled(args.data / "claims-heldout-own.jsonl")
    batches = [tuple(range(int(a), int(b) + 1)) for a, _, b in (s.partition("-") for s in args.batch)]
    last = max(n for b in batches for n in b)
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    vec.fit([c.text for c in base] + [c.text for n in range(2, last + 1) for c in probe(n)])
    right = {b: [] for b in BUCKETS}
    for batch in batches:
        earlier = vec.transform([c.text for c in base] + [c.text for n in range(2, batch[0]) for c in probe(n)])
        for n in batch:
            claims, labels = probe(n), _verdicts(args.verdicts / f"first-{n}.jsonl")
            if len(labels) != len(claims):
                raise SystemExit(f"first-{n}.jsonl has {len(labels)} hybrid verdicts for {len(claims)} claims")
            nearest = cosine_similarity(vec.transform([c.text for c in claims]), earlier).max(1)
            for c, label, cos in zip(claims, labels, nearest):
                right[next(b for b in BUCKETS if b[0] <= cos < b[1])].append(label == c.label)
    for (lo, hi), hits in right.items():
        print(f"nearest earlier claim, cosine {lo:.1f}-{min(hi, 1.0):.1f}: {sum(hits)} of {len(hits)} "
              f"({100 * sum(hits) / max(1, len(hits)):.1f}%)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
