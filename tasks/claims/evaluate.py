"""Evaluate verifiers side by side on a labelled claims file.

    python -m tasks.claims.evaluate eval-claims tests/claims/data/claims-heldout-own.jsonl \
        [--snapshot tasks/retrieval/data/arxiv-snapshot.jsonl] [--index-dir DIR] [--k 8] \
        [--verifiers tfidf,hybrid] [--llm conf/llm/nim.yaml] [--out verdicts.jsonl]
    python -m tasks.claims.evaluate eval-claims tests/claims/data/*.jsonl --no-ablation   # every labelled file

Given several files, it also prints each file's accuracy, and the pooled tables cover all of them.

Each line of the labelled file is {"claim", "label", "evidence_ids", "note"}. Evidence is retrieved
from the whole index (top-k chunks), never from the line's evidence_ids. After the side-by-side table it
prints the ablation: the hybrid verifier's accuracy with each registered check removed.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tasks.claims.base import Verifier
from tasks.claims.eval_report import render, render_files
from tasks.claims.records import LABELS, Verdict
from tasks.index.chunking import chunk_paper
from tasks.index.faiss_store import IndexStore, build_index, load_or_none, paper_ids_digest
from tasks.records import Chunk, ChunkHit, Paper
from tasks.retrieval.snapshot import SnapshotScan, iter_papers
from tasks.settings import project_path

DEFAULT_SNAPSHOT = project_path("tasks/retrieval/data/arxiv-snapshot.jsonl")  # the shipped copy


@dataclass(frozen=True)
class LabelledClaim:
    claim_id: str
    text: str
    label: str
    evidence_ids: tuple[str, ...] = ()


_FIX = 'each line is a JSON object {"claim": "<text>", "label": "SUPPORTED|CONTRADICTED|NOT_ENOUGH_INFO", "evidence_ids": [...]}'


def load_labelled(path: Path, prefix: str = "dev") -> list[LabelledClaim]:
    """Read a labelled claims JSONL file; a bad line or an empty file raises one ValueError naming the line and the fix.
    Claim ids are ``{prefix}-{line}``."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file; pass a labelled claims JSONL file ({_FIX})")
    out = []
    for n, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{n}: not JSON ({exc.msg}); {_FIX}") from None
        if not isinstance(row, dict):
            raise ValueError(f"{path}:{n}: a JSON {type(row).__name__}, not an object; {_FIX}")
        claim = row.get("claim")
        if not isinstance(claim, str) or not claim.strip():
            raise ValueError(f"{path}:{n}: 'claim' is {type(claim).__name__ if claim is not None else 'missing or null'}, "
                             f"not a non-empty string; {_FIX}")
        if row.get("label") not in LABELS:
            raise ValueError(f"{path}:{n}: label {row.get('label')!r} is not one of {', '.join(LABELS)}; fix the label")
        ids = row.get("evidence_ids") or []
        ids = tuple(str(i) for i in ids) if isinstance(ids, list) else ()
        out.append(LabelledClaim(f"{prefix}-{n}", claim, row["label"], ids))
    if not out:
        raise ValueError(f"{path}: no labelled claims (the file is empty); {_FIX}")
    return out


def load_snapshot(path: Path) -> list[Paper]:
    """Papers from a Kaggle/Cornell arXiv-format JSONL snapshot (the retrieval stage's reader: bad lines skipped)."""
    scan = SnapshotScan(str(path))
    papers = [paper for paper, _ in iter_papers(Path(path), scan)]
    if scan.malformed:
        print(f"{path}: skipped {scan.malformed} malformed line(s), e.g. {scan.malformed_examples[0]}", file=sys.stderr)
    return papers


def build_retriever(papers: list[Paper], index_dir: Path, embedder_kind: str = "minilm",
                    chunk_chars: int = 600, overlap: int = 1) -> Callable[[str, int], list[ChunkHit]]:
    """Chunk + embed + FAISS-index the papers (or reuse a matching index in ``index_dir``) and return retrieve(text, k).

    Queries are memoised, so the ablation's reruns do not embed the same text again.
    """
    from tasks.index.embedder import load_embedder

    embedder = load_embedder(embedder_kind)
    index_dir = Path(index_dir)
    store = load_or_none(index_dir)
    chunking = {"chunk_chars": chunk_chars, "chunk_overlap_sentences": overlap}
    if store is None or store.card.paper_ids_sha256 != paper_ids_digest([p.arxiv_id for p in papers]) \
            or store.card.embedder != embedder.name or store.card.chunking != chunking:
        chunks = [c for p in papers for c in chunk_paper(p, chunk_chars, overlap)]
        build_index(chunks, embedder.embed([c.text for c in chunks]), embedder.name, chunking, index_dir)
        store = IndexStore(index_dir)
    retrieve = functools.lru_cache(maxsize=4096)(lambda text, k: tuple(store.query(text, embedder, k)))
    retrieve.paper_chunks = paper_chunk_lookup(store.chunks)
    return retrieve


def paper_chunk_lookup(chunks: list[Chunk]) -> Callable[[str], list[Chunk]]:
    """arxiv id -> that paper's chunks, for the hybrid verifier's document expansion."""
    by_paper: dict[str, list[Chunk]] = {}
    for chunk in chunks:
        by_paper.setdefault(chunk.arxiv_id, []).append(chunk)
    lookup = lambda arxiv_id: by_paper.get(arxiv_id, [])  # noqa: E731
    lookup.titles = {pid: cs[0].title for pid, cs in by_paper.items()}  # lets the verifier find papers by name
    return lookup


def confusion(gold: list[str], pred: list[str]) -> dict[str, dict[str, int]]:
    table = {g: {p: 0 for p in LABELS} for g in LABELS}
    for g, p in zip(gold, pred):
        table[g][p] += 1
    return table


def scores(gold: list[str], pred: list[str]) -> dict:
    """Accuracy plus per-class precision and recall."""
    out = {"accuracy": sum(g == p for g, p in zip(gold, pred)) / max(1, len(gold)), "per_class": {}}
    for label in LABELS:
        tp = sum(g == p == label for g, p in zip(gold, pred))
        predicted = sum(p == label for p in pred)
        actual = sum(g == label for g in gold)
        out["per_class"][label] = {"precision": tp / predicted if predicted else 0.0,
                                   "recall": tp / actual if actual else 0.0, "support": actual}
    return out


def evaluate(claims: list[LabelledClaim], verifiers: list[Verifier],
             retrieve: Callable[[str, int], list[ChunkHit]]) -> dict[str, dict]:
    """Run every verifier on every claim; returns {verifier: {'verdicts', 'scores', 'confusion'}}."""
    results = {}
    gold = [c.label for c in claims]
    for verifier in verifiers:
        verdicts: list[Verdict] = [verifier.verify(c.text, retrieve, None).model_copy(update={"claim_id": c.claim_id})
                                   for c in claims]
        pred = [v.label for v in verdicts]
        results[verifier.name] = {"verdicts": verdicts, "scores": scores(gold, pred), "confusion": confusion(gold, pred)}
    return results


def ablation(claims: list[LabelledClaim], verifier, retrieve: Callable[[str, int], list[ChunkHit]]) -> dict[str, float]:
    """Accuracy of a check-pipeline verifier with all its checks, with each removed in turn, and with each
    registered check it leaves off added."""
    from tasks.claims.findings import REGISTRY

    gold = [c.label for c in claims]
    variants = {"(all checks)": verifier.checks}
    variants |= {f"without {d}": tuple(c for c in verifier.checks if c != d) for d in verifier.checks}
    variants |= {f"plus {a} (off by default)": (*verifier.checks, a) for a in REGISTRY if a not in verifier.checks}
    out = {}
    for name, kept in variants.items():
        variant = dataclasses.replace(verifier, checks=kept, _built=[])
        out[name] = scores(gold, [variant.verify(c.text, retrieve, None).label for c in claims])["accuracy"]
    if hasattr(verifier, "decision"):  # the other way of turning findings into a verdict
        other = "rules" if verifier.decision == "learned" else "learned"
        variant = dataclasses.replace(verifier, decision=other, _built=[])
        name = "decide by rules, not learned" if other == "rules" else "plus learned decision (off by default)"
        out[name] = scores(gold, [variant.verify(c.text, retrieve, None).label for c in claims])["accuracy"]
    return out


def build_verifiers(names: list[str], llm_config: Path | None, k: int, paper_chunks=None) -> list[Verifier]:
    from tasks.claims.verifiers import make_verifier
    from tasks.claims.settings import VerifierSettings

    out = []
    for name in names:
        settings = VerifierSettings(name=name, k=k, llm_config=str(llm_config) if llm_config else None)
        out.append(make_verifier(settings, paper_chunks=paper_chunks))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tasks.claims.evaluate")
    sub = parser.add_subparsers(dest="command", required=True)
    ev = sub.add_parser("eval-claims", help="run verifiers side by side on a labelled claims JSONL file")
    ev.add_argument("labelled", type=Path, nargs="+", help="one or more labelled claims JSONL files")
    ev.add_argument("--snapshot", type=Path, default=DEFAULT_SNAPSHOT, help="Kaggle-format arXiv JSONL")
    ev.add_argument("--index-dir", type=Path, default=None, help="reuse/build the FAISS index here (default: temp dir)")
    ev.add_argument("--k", type=int, default=8, help="evidence chunks per claim")
    ev.add_argument("--verifiers", default="tfidf,hybrid", help="comma list of tfidf, hybrid, llm")
    ev.add_argument("--llm", type=Path, default=None, help="conf/llm/<provider>.yaml; adds the llm verifier")
    ev.add_argument("--out", type=Path, default=None, help="write all verdicts as JSONL here")
    ev.add_argument("--no-ablation", action="store_true", help="skip the table of accuracy with each check removed")
    args = parser.parse_args(argv)

    try:  # one file keeps the ids dev-N; several are told apart by their stems
        per_file = {p: load_labelled(p, "dev" if len(args.labelled) == 1 else p.stem) for p in args.labelled}
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    claims = [c for cs in per_file.values() for c in cs]
    names = [n.strip() for n in args.verifiers.split(",") if n.strip()]
    if args.llm and "llm" not in names:
        names.append("llm")
    with tempfile.TemporaryDirectory(prefix="claims-index-") as tmp:  # removed however the run ends
        retrieve = build_retriever(load_snapshot(args.snapshot), args.index_dir or Path(tmp))
        verifiers = build_verifiers(names, args.llm, args.k, getattr(retrieve, "paper_chunks", None))
        results = evaluate(claims, verifiers, retrieve)
        pipeline = next((v for v in verifiers if hasattr(v, "checks")), None)
        table = ablation(claims, pipeline, retrieve) if pipeline is not None and not args.no_ablation else None
    render(results, [c.label for c in claims], table)
    if len(per_file) > 1:
        render_files({p.name: [c.claim_id for c in cs] for p, cs in per_file.items()}, claims, results)
    if args.out:
        with args.out.open("w") as fh:
            for r in results.values():
                for v in r["verdicts"]:
                    fh.write(v.model_dump_json() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
