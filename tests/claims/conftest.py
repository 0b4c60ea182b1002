"""Fixtures: hand-made chunks with a fake retriever (fast), and one real MiniLM index (session-scoped)."""

from __future__ import annotations

import json

import pytest

from tasks.index.chunking import chunk_paper
from tasks.records import ChunkHit, Paper

TINY_PAPERS = [
    ("2401.00001", "SparseServe: Fast Decoding for Sparse Models",
     "SparseServe accelerates decoding by 1.99x for Mixtral 8x7B and by 5.86x for Llama-2-70B on H100 GPUs. "
     "It reduces memory use by 40% compared with vLLM."),
    ("2401.00002", "ToyMoE: A Small Mixture-of-Experts Model",
     "Presents ToyMoE, a sparse model with 12B total parameters of which 3B are active per token. "
     "It routes each token to 2 of 16 experts and was trained on 2T tokens using 64 A100 GPUs."),
    ("2401.00003", "ToyMoE-2 Technical Report",
     "Reports ToyMoE-2, a model with 40B total parameters and 6B activated per token that reuses the router from ToyMoE. "
     "Training took 90K GPU hours."),
    ("2401.00004", "Blockwise Expert Sharing for Diffusion LLMs",
     "In diffusion LLMs that decode a block of tokens in parallel, the number of distinct experts touched per step "
     "grows almost linearly with the block size, which makes decoding memory-bound. "
     "Blockwise Expert Sharing (BES) cuts unique expert activations by 50% and latency by up to 30%."),
]


def make_paper(arxiv_id: str, title: str, abstract: str) -> Paper:
    return Paper(arxiv_id=arxiv_id, title=title, abstract=abstract)


@pytest.fixture
def papers() -> list[Paper]:
    return [make_paper(*row) for row in TINY_PAPERS]


def fake_retriever(papers: list[Paper], score: float = 0.8):
    """Returns every chunk of every paper (a retrieval that never misses), best-first by word overlap."""
    chunks = [c for p in papers for c in chunk_paper(p)]

    def retrieve(text: str, k: int) -> list[ChunkHit]:
        words = set(text.lower().split())
        ranked = sorted(chunks, key=lambda c: -len(words & set(c.text.lower().split())))
        return [ChunkHit(chunk=c, score=score) for c in ranked[:k]]

    retrieve.paper_chunks = lambda pid: [c for c in chunks if c.arxiv_id == pid]
    return retrieve


@pytest.fixture
def retrieve(papers):
    return fake_retriever(papers)


def papers_fixture(rows: list[tuple[str, str, str]]):
    """A test module's ``retrieve`` fixture over its invented papers: ``retrieve = papers_fixture(PAPERS)``."""

    @pytest.fixture(scope="module", name="retrieve")
    def _retrieve():
        return fake_retriever([make_paper(*row) for row in rows])

    return _retrieve


def hybrid_label(text: str, retrieve, learned: bool = True) -> str:
    """The default checks' label for ``text`` over a fake retriever, decided by the fixed order (a test of a rule
    tests the rule, not the learned weights). ``learned=False`` also leaves out the learned check (``entail``), so a
    test of a rule cannot pass by the cross-encoder."""
    from tasks.claims.hybrid import DEFAULT_CHECKS, HybridVerifier

    checks = DEFAULT_CHECKS if learned else tuple(c for c in DEFAULT_CHECKS if c != "entail")
    return HybridVerifier(paper_chunks=retrieve.paper_chunks, checks=checks, decision="rules").verify(text, retrieve).label


def rules_label(text: str, retrieve) -> str:
    return hybrid_label(text, retrieve, learned=False)


def write_snapshot(path, rows) -> None:
    """A Kaggle-format snapshot with only the fields the loader reads (plus a couple it ignores)."""
    with open(path, "w") as fh:
        for arxiv_id, title, abstract in rows:
            fh.write(json.dumps({"id": arxiv_id, "title": title, "abstract": abstract, "authors": "A. Author",
                                 "versions": [], "update_date": "2024-01-01"}) + "\n")


@pytest.fixture(scope="session")
def minilm():
    from tasks.index.embedder import load_embedder

    return load_embedder("minilm")
