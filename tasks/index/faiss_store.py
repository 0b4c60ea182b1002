"""A FAISS inner-product index over normalised chunk vectors, with its card on disk."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import faiss
import numpy as np

from tasks.records import Chunk, ChunkHit, IndexCard

INDEX_FILE = "index.faiss"
CHUNKS_FILE = "chunks.jsonl"
CARD_FILE = "index_card.json"


class CorruptIndex(RuntimeError):
    """The index on disk is unreadable or disagrees with its card; rebuild it."""


def paper_ids_digest(paper_ids: list[str]) -> str:
    """Order-independent SHA-256 of the paper ids an index covers."""
    return hashlib.sha256("\n".join(sorted(set(paper_ids))).encode()).hexdigest()


def build_index(
    chunks: list[Chunk], vectors: np.ndarray, embedder: str, chunking: dict[str, int], out_dir: Path
) -> IndexCard:
    """Write ``index.faiss``, ``chunks.jsonl`` and ``index_card.json`` into ``out_dir``.

    Files are written under temporary names and renamed, so a crash never leaves
    a half-written index that looks complete.
    """
    if len(chunks) != len(vectors):
        raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
    started = time.perf_counter()
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    out_dir.mkdir(parents=True, exist_ok=True)
    card = IndexCard(
        embedder=embedder,
        dimension=int(vectors.shape[1]),
        vectors=int(index.ntotal),
        paper_ids_sha256=paper_ids_digest([c.arxiv_id for c in chunks]),
        chunking=chunking,
        build_seconds=round(time.perf_counter() - started, 4),
    )
    tmp = {name: out_dir / f".{name}.tmp" for name in (INDEX_FILE, CHUNKS_FILE, CARD_FILE)}
    faiss.write_index(index, str(tmp[INDEX_FILE]))
    tmp[CHUNKS_FILE].write_text("".join(c.model_dump_json() + "\n" for c in chunks))
    tmp[CARD_FILE].write_text(card.model_dump_json(indent=2))
    for name in (INDEX_FILE, CHUNKS_FILE, CARD_FILE):  # card last: it marks completion
        tmp[name].replace(out_dir / name)
    return card


class IndexStore:
    """A loaded index: the FAISS object, its chunks and its card."""

    def __init__(self, index_dir: Path):
        self.index_dir = Path(index_dir)
        try:
            self.card = IndexCard.model_validate_json((self.index_dir / CARD_FILE).read_text())
            self.index = faiss.read_index(str(self.index_dir / INDEX_FILE))
            self.chunks = [Chunk.model_validate_json(line) for line in (self.index_dir / CHUNKS_FILE).read_text().splitlines() if line]
        except Exception as exc:  # noqa: BLE001 - any failure to load means "rebuild"
            raise CorruptIndex(f"index at {self.index_dir} is unreadable ({type(exc).__name__}: {exc})") from exc
        if self.index.ntotal != self.card.vectors or len(self.chunks) != self.card.vectors:
            raise CorruptIndex(
                f"index at {self.index_dir} has {self.index.ntotal} vectors and {len(self.chunks)} chunks, "
                f"its card says {self.card.vectors}"
            )

    def search(self, query_vectors: np.ndarray, k: int = 5) -> list[list[ChunkHit]]:
        """Top-``k`` chunks per query vector, best first."""
        if self.index.ntotal == 0:
            return [[] for _ in range(len(query_vectors))]
        scores, ids = self.index.search(np.ascontiguousarray(query_vectors, dtype=np.float32), min(k, self.index.ntotal))
        return [
            [ChunkHit(chunk=self.chunks[i], score=float(s)) for s, i in zip(row_s, row_i) if i >= 0]
            for row_s, row_i in zip(scores, ids)
        ]

    def query(self, text: str, embedder, k: int = 5) -> list[ChunkHit]:
        """Embed ``text`` with ``embedder`` and return the top-``k`` chunks with cosine scores."""
        return self.search(embedder.embed([text]), k)[0]


def load_or_none(index_dir: Path) -> IndexStore | None:
    """Load a complete index, or return None when it is missing or corrupt (the caller rebuilds)."""
    if not (Path(index_dir) / CARD_FILE).exists():
        return None
    try:
        return IndexStore(index_dir)
    except CorruptIndex:
        return None

