"""Build the verifier named by the config (tfidf | hybrid | llm)."""

from __future__ import annotations

from tasks.claims.base import Verifier
from tasks.claims.hybrid import HybridVerifier
from tasks.claims.settings import VerifierSettings
from tasks.claims.tfidf import TfidfVerifier


def make_verifier(settings: VerifierSettings, chat_model=None, paper_chunks=None) -> Verifier:
    """The verifier for ``settings.name``.

    Args:
        settings: the typed verifier config.
        chat_model: overrides the LLM built from ``settings.llm_config`` (tests pass a fake).
        paper_chunks: optional ``arxiv_id -> list[Chunk]`` so the hybrid verifier reads whole abstracts
            of the papers its evidence names (see ``tasks.claims.evaluate.paper_chunk_lookup``).
    """
    hybrid = HybridVerifier(k=settings.k, support_similarity=settings.support_similarity,
                            min_coverage=settings.min_coverage, rel_tol=settings.rel_tol, approx_tol=settings.approx_tol,
                            paper_chunks=paper_chunks, decision=settings.decision,
                            **({"checks": tuple(settings.checks)} if settings.checks else {}))
    if settings.name == "tfidf":
        return TfidfVerifier(threshold=settings.tfidf_threshold, k=settings.k)
    if settings.name == "hybrid":
        return hybrid
    from tasks.claims.llm_judge import LLMVerifier

    if chat_model is None:
        from tasks.llm.factory import build_chat_model
        from tasks.llm.settings import LLMSettings

        if not settings.llm_config:
            raise ValueError("verifier=llm needs verifier.llm_config (a conf/llm/<provider>.yaml), e.g. conf/llm/nim.yaml")
        chat_model = build_chat_model(LLMSettings.from_yaml(settings.llm_config))
    return LLMVerifier(chat_model=chat_model, k=settings.k, fallback=hybrid if settings.fallback == "hybrid" else None)


def independent_verifier(settings: VerifierSettings, paper_chunks=None) -> Verifier:
    """The verifier for the corroboration pass, which reads a claim against the other papers only.

    The learned decision was fitted on claims read against the whole snapshot; here the claim's own paper is missing
    by design, which its weights never saw (on the flagship they read "no other paper matches" as a contradiction for
    13 of 45 claims). This pass keeps the fixed order of ``findings.decide``.
    """
    return make_verifier(settings.model_copy(update={"decision": "rules"}), paper_chunks=paper_chunks)

