"""Compare relevance methods on labelled questions.

    python -m tasks.retrieval.evaluate eval-relevance ../shared/corpus/relevance-dev.jsonl
    python -m tasks.retrieval.evaluate eval-relevance tests/literature/data/relevance-own.jsonl --methods hybrid tfidf_seed

Each line: ``{"question_slug", "must_keep": [ids], "must_drop": [ids]}`` plus ``"question"`` (its text) when the
slug has no ``conf/question/<slug>.yaml``; a slug with a question file takes its text (and structured block) from it.
One row per question and method: recall of must_keep, must_drop papers kept, papers kept (of those retrieved).
Retrieval is the flow's own: two query rounds against the snapshot, then the method.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from tasks.retrieval.merge import merge_dedupe
from tasks.retrieval.pipeline import decide, snapshot_search, two_round_queries
from tasks.retrieval.relevance import METHODS
from tasks.settings import PROJECT_ROOT, QuestionSettings

DEFAULT_SNAPSHOT = PROJECT_ROOT / "tasks" / "retrieval" / "data" / "arxiv-snapshot.jsonl"


@dataclass
class Row:
    slug: str
    method: str
    recall: tuple[int, int]
    dropped_kept: int
    kept: int
    retrieved: int
    missed: list[str]
    wrongly_kept: list[str]


def question_for(line: dict, conf_dir: Path = PROJECT_ROOT / "conf" / "question") -> QuestionSettings:
    """The labelled line's question: its conf/question file when one has this slug, else its ``question`` text."""
    slug = str(line.get("question_slug") or "")
    for path in sorted(conf_dir.glob("*.yaml")):
        data = yaml.safe_load(path.read_text()) or {}
        if slug and (data.get("slug") == slug or path.stem == slug.replace("-", "_")) and data.get("text"):
            return QuestionSettings.model_validate({k: v for k, v in data.items() if k in QuestionSettings.model_fields} | {"slug": slug})
    if not line.get("question"):
        raise ValueError(f"line for {slug!r} has no 'question' text and no conf/question file has that slug; add \"question\": \"...\"")
    return QuestionSettings(slug=slug, text=line["question"])


def evaluate(lines: list[dict], methods: list[str], snapshot: Path, max_queries: int = 12, top_k: int = 25,
             embedder=None) -> list[Row]:
    """Score every method on every labelled question; retrieval runs once per question and is shared by the methods."""
    rows = []
    search = snapshot_search(snapshot, top_k)
    for line in lines:
        question = question_for(line)
        queries, answers = two_round_queries(question, max_queries, search)
        papers = merge_dedupe([answers[q.text] for q in queries])
        keep, drop = set(line.get("must_keep", [])), set(line.get("must_drop", []))
        for method in methods:
            decisions = decide(method, question, queries, papers, embedder)
            kept = {d.paper.arxiv_id for d in decisions if d.kept}
            rows.append(Row(question.slug, method, (len(keep & kept), len(keep)), len(drop & kept), len(kept), len(papers),
                            sorted(keep - kept), sorted(drop & kept)))
    return rows


def format_table(rows: list[Row], verbose: bool = False) -> str:
    out = [f"{'question':<28} {'method':<11} {'recall must_keep':>17} {'must_drop kept':>15} {'kept':>5} {'retrieved':>9}"]
    for r in rows:
        pct = 100 * r.recall[0] / r.recall[1] if r.recall[1] else 100.0
        out.append(f"{r.slug[:28]:<28} {r.method:<11} {f'{r.recall[0]}/{r.recall[1]} ({pct:.0f}%)':>17} {r.dropped_kept:>15} "
                   f"{r.kept:>5} {r.retrieved:>9}")
        if verbose and (r.missed or r.wrongly_kept):
            out.append(f"{'':<40} missed {r.missed} · must_drop kept {r.wrongly_kept}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tasks.retrieval.evaluate")
    sub = parser.add_subparsers(dest="command", required=True)
    ev = sub.add_parser("eval-relevance", help="recall of must_keep and must_drop kept, per question and method")
    ev.add_argument("labels", type=Path)
    ev.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    ev.add_argument("--snapshot", type=Path, default=DEFAULT_SNAPSHOT)
    ev.add_argument("--max-queries", type=int, default=12)
    ev.add_argument("-v", "--verbose", action="store_true", help="list the missed and wrongly kept ids")
    args = parser.parse_args(argv)
    if not args.labels.is_file():
        print(f"error: labels file {args.labels} does not exist", file=sys.stderr)
        return 2
    try:
        lines = [json.loads(x) for x in args.labels.read_text().splitlines() if x.strip()]
    except json.JSONDecodeError as exc:
        print(f"error: {args.labels} is not JSON lines ({exc})", file=sys.stderr)
        return 2
    embedder = None
    if "hybrid" in args.methods:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from tasks.index.embedder import load_embedder

        embedder = load_embedder("minilm")
    print(format_table(evaluate(lines, args.methods, args.snapshot, args.max_queries, embedder=embedder), args.verbose))
    return 0


if __name__ == "__main__":
    sys.exit(main())
