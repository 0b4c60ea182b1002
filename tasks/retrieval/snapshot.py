"""Stream and search a Kaggle/Cornell ``arxiv-metadata-oai-snapshot`` JSON-lines file.

The file may hold millions of lines, so it is never loaded whole: a first pass
counts document frequencies of the query terms, a second pass scores every
record with BM25 and keeps a bounded heap per query.
"""

from __future__ import annotations

import heapq
import json
import logging
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Iterator

from tasks.records import Paper, Query

log = logging.getLogger(__name__)

_TOKEN = re.compile(r"[a-z0-9]+(?:[-.][a-z0-9]+)*")
_STOP = frozenset(
    "a an and are as at be by for from how in into is it its of on or that the this to with what does do vs".split()
)
_VERSION = re.compile(r"v(\d+)$")


class SnapshotError(RuntimeError):
    """The snapshot file is missing or unusable; the message names the config key to fix."""


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens without stop words; a compound ('llama-2-70b', 'kv-cache') also yields its parts."""
    out = []
    for token in _TOKEN.findall(text.lower()):
        if token in _STOP:
            continue
        out.append(token)
        if "-" in token or "." in token:
            out.extend(p for p in re.split(r"[-.]", token) if p and p not in _STOP)
    return out


def _iso(rfc2822: str | None) -> str | None:
    try:
        return parsedate_to_datetime(rfc2822).date().isoformat() if rfc2822 else None
    except (TypeError, ValueError):
        return None


def paper_from_record(record: dict) -> Paper:
    """Normalise one Kaggle-format record; raises KeyError/TypeError/ValueError when malformed."""
    versions = record.get("versions") or []
    numbers = [int(m.group(1)) for v in versions if (m := _VERSION.match(str(v.get("version", ""))))]
    authors = record.get("authors_parsed")
    author_names = (
        [" ".join(p for p in (a[1], a[0]) if p).strip() for a in authors]
        if authors
        else [a.strip() for a in str(record.get("authors") or "").split(",") if a.strip()]
    )
    title = " ".join(str(record["title"]).split())
    abstract = " ".join(str(record["abstract"]).split())
    if not record["id"] or not title or not abstract:
        raise ValueError("id, title and abstract must be non-empty")
    return Paper(
        arxiv_id=str(record["id"]).strip(),
        version=max(numbers, default=1),
        title=title,
        abstract=abstract,
        authors=author_names,
        categories=str(record.get("categories") or "").split(),
        published=_iso(versions[0].get("created")) if versions else None,
        updated=record.get("update_date") or (_iso(versions[-1].get("created")) if versions else None),
        source="snapshot",
    )


@dataclass
class SnapshotScan:
    """Counts from streaming the snapshot; malformed lines are skipped, never fatal."""

    path: str
    lines: int = 0
    records: int = 0
    malformed: int = 0
    malformed_examples: list[str] = field(default_factory=list)


_GZIP, _BZIP2, _XZ, _ZIP = b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"PK\x03\x04"


def check_snapshot(path: str | Path, key: str = "retrieval.snapshot_path") -> Path:
    """Refuse a snapshot that cannot be read as JSON lines, before any run starts, naming what is wrong.

    Reads at most the first 64 KiB: a missing path, a folder, an empty file, a compressed archive or a binary
    file each get their own message; a text file whose lines are all malformed is caught by the scan itself.
    """
    path = Path(path)
    fix = "point it at an arxiv-metadata-oai-snapshot JSON-lines file (one JSON record per line)"
    if path.is_dir():
        raise SnapshotError(f"{key}={str(path)!r} is a directory; {fix}")
    if not path.is_file():
        raise SnapshotError(f"{key}={str(path)!r} does not exist; {fix}")
    try:
        with path.open("rb") as handle:
            head = handle.read(65536)
    except OSError as exc:
        raise SnapshotError(f"{key}={str(path)!r} cannot be read ({exc.strerror}); check its permissions") from None
    if not head.strip():
        raise SnapshotError(f"{key}={str(path)!r} is empty; {fix}")
    for magic, kind, tool in ((_GZIP, "gzip", "gunzip"), (_BZIP2, "bzip2", "bunzip2"), (_XZ, "xz", "unxz"), (_ZIP, "zip", "unzip")):
        if head.startswith(magic):
            raise SnapshotError(f"{key}={str(path)!r} is {kind}-compressed; decompress it first ({tool}) and {fix}")
    if b"\x00" in head:
        raise SnapshotError(f"{key}={str(path)!r} is a binary file, not JSON lines; {fix}")
    return path


def iter_papers(path: Path, scan: SnapshotScan) -> Iterator[tuple[Paper, list[str]]]:
    """Yield (paper, tokens of title+abstract) for every well-formed line, counting the rest."""
    path = check_snapshot(path)
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            scan.lines += 1
            if not line.strip():
                continue
            try:
                paper = paper_from_record(json.loads(line))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
                scan.malformed += 1
                if len(scan.malformed_examples) < 5:
                    scan.malformed_examples.append(f"line {number}: {type(exc).__name__}: {exc}"[:200])
                continue
            scan.records += 1
            yield paper, tokenize(paper.text)


def _newness(paper: Paper, seq: int) -> tuple:
    """Which of two records with one arXiv id is newer: version, then update date, then the later line."""
    return (paper.version, paper.updated or "", seq)


class _TopK:
    """The ``k`` best-scoring papers of one query, one per arXiv id (the newest record of an id wins).

    Heap entries are (score, arxiv_id, seq): ``seq`` (the record number) is unique, so two Paper
    objects are never compared, whatever the snapshot holds.
    """

    def __init__(self, k: int) -> None:
        self.k = k
        self.heap: list[tuple[float, str, int]] = []
        self.by_id: dict[str, tuple[float, Paper, int]] = {}

    def offer(self, score: float, paper: Paper, seq: int) -> None:
        held = self.by_id.get(paper.arxiv_id)
        if held is not None:  # the same id again (another version, or a duplicated line)
            if _newness(paper, seq) <= _newness(held[1], held[2]):
                return
            self.heap.remove((held[0], paper.arxiv_id, held[2]))
            heapq.heapify(self.heap)
            del self.by_id[paper.arxiv_id]
        item = (score, paper.arxiv_id, seq)
        if len(self.heap) < self.k:
            heapq.heappush(self.heap, item)
        elif item[:2] > self.heap[0][:2]:
            evicted = heapq.heapreplace(self.heap, item)
            del self.by_id[evicted[1]]
        else:
            return
        self.by_id[paper.arxiv_id] = (score, paper, seq)

    def best(self) -> list[tuple[float, Paper]]:
        return [(s, self.by_id[i][1]) for s, i, _ in sorted(self.heap, key=lambda x: (-x[0], x[1]))]


def search_snapshot(
    path: Path, queries: list[Query], top_k: int = 25, k1: float = 1.5, b: float = 0.75
) -> tuple[dict[str, list[Paper]], SnapshotScan]:
    """BM25 over title+abstract for several queries in two streaming passes.

    Returns:
        A map from query text to its papers (best first, ``search_score`` set),
        and the scan counts of the second pass.
    """
    terms = {q.text: Counter(tokenize(q.text)) for q in queries}
    vocab = set().union(*terms.values()) if terms else set()
    df: Counter[str] = Counter()
    first = SnapshotScan(path=str(path))
    total_len = 0
    for _, tokens in iter_papers(path, first):
        total_len += len(tokens)
        df.update(vocab.intersection(tokens))
    if not first.records:
        raise SnapshotError(
            f"retrieval.snapshot_path={str(path)!r} holds no arXiv record ({first.lines} line(s), {first.malformed} malformed, "
            f"e.g. {'; '.join(first.malformed_examples[:2]) or 'only blank lines'}); point it at an "
            "arxiv-metadata-oai-snapshot JSON-lines file with id, title and abstract on each line"
        )
    n_docs = first.records
    avg_len = total_len / n_docs if total_len else 1.0
    idf = {t: math.log(1 + (n_docs - df[t] + 0.5) / (df[t] + 0.5)) for t in vocab}

    heaps: dict[str, _TopK] = {q: _TopK(top_k) for q in terms}
    scan = SnapshotScan(path=str(path))
    for paper, tokens in iter_papers(path, scan):
        tf = Counter(t for t in tokens if t in vocab)
        if not tf:
            continue
        norm = k1 * (1 - b + b * len(tokens) / avg_len)
        for query, qterms in terms.items():
            score = sum(idf[t] * tf[t] * (k1 + 1) / (tf[t] + norm) for t in qterms if t in tf)
            if score > 0:
                heaps[query].offer(score, paper, scan.records)
    ranked = {
        query: [p.model_copy(update={"search_score": round(s, 4), "matched_queries": [query]}) for s, p in heap.best()]
        for query, heap in heaps.items()
    }
    if scan.malformed:
        log.warning("snapshot %s: skipped %d malformed line(s) of %d, e.g. %s", path, scan.malformed, scan.lines, scan.malformed_examples[:2])
    return ranked, scan
