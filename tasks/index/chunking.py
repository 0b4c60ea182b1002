"""Split paper text into overlapping sentence-aligned chunks."""

from __future__ import annotations

import re

from tasks.records import Chunk, Paper

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"(])")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences in ``text`` (a light rule-based splitter)."""
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    if start < len(text):
        spans.append((start, len(text)))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def chunk_paper(paper: Paper, max_chars: int = 600, overlap_sentences: int = 1) -> list[Chunk]:
    """Chunk title+abstract into windows of whole sentences of at most ``max_chars``.

    Args:
        paper: the paper to chunk.
        max_chars: soft cap on a chunk's length; a single longer sentence stays whole.
        overlap_sentences: sentences repeated at the start of the next chunk.
    Returns:
        Chunks whose ``start``/``end`` index into ``paper.text``.
    """
    if max_chars <= 0 or overlap_sentences < 0:
        raise ValueError("index.chunk_chars must be > 0 and index.chunk_overlap_sentences >= 0")
    text = paper.text
    spans = sentence_spans(text)
    chunks: list[Chunk] = []
    i = 0
    while i < len(spans):
        j = i
        while j + 1 < len(spans) and spans[j + 1][1] - spans[i][0] <= max_chars:
            j += 1
        start, end = spans[i][0], spans[j][1]
        chunks.append(
            Chunk(
                chunk_id=f"{paper.arxiv_id}#{len(chunks)}",
                arxiv_id=paper.arxiv_id,
                title=paper.title,
                text=text[start:end],
                start=start,
                end=end,
            )
        )
        if j + 1 >= len(spans):
            break
        i = max(j + 1 - overlap_sentences, i + 1)
    return chunks
