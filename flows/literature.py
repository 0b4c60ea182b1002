"""Literature stage: queries -> parallel arXiv search (snapshot fallback) -> filter -> FAISS index."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows import engine
from flows.progress import StageTimer, console
from flows.safety import atomic_write
from tasks.index.chunking import chunk_paper
from tasks.index.embedder import load_embedder
from tasks.index.faiss_store import build_index, load_or_none, paper_ids_digest
from tasks.records import IndexCard, Paper, Query, RelevanceDecision, SearchResult
from tasks.retrieval import arxiv_breaker
from tasks.retrieval.arxiv_live import ArxivUnavailable, search_live
from tasks.retrieval.merge import merge_dedupe
from tasks.retrieval.pipeline import question_names, two_round_queries
from tasks.retrieval.relevance import hybrid_filter, semantic_rerank, tfidf_filter
from tasks.retrieval.snapshot import search_snapshot
from tasks.settings import PROJECT_ROOT, EmbedderSettings, IndexSettings, RetrievalSettings, Settings, project_path

log = logging.getLogger("sovereign.literature")


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _snapshot_fingerprint(path: str) -> str:
    p = project_path(path)
    stat = p.stat() if p.exists() else None
    return f"{p}:{stat.st_size}:{int(stat.st_mtime)}" if stat else f"{p}:missing"


LIVE_ANSWER_TTL = timedelta(days=1)  # arXiv asks clients not to repeat a query; its index changes daily


SEARCH_VERSION = 2  # bump when the snapshot search's scoring changes (2: compounds also yield their parts)


def _search_cache_file(cache_dir: str, kind: str, *parts: object) -> Path:
    version = (SEARCH_VERSION,) if kind == "snapshot" else ()
    return project_path(cache_dir) / "search" / f"{kind}-{_digest(*parts, *version)}.json"


def _read_cached(path: Path, ttl: timedelta | None) -> SearchResult | None:
    """A stored answer, or None when it is missing, older than ``ttl`` or unreadable (then it is recomputed)."""
    try:
        if ttl is not None and time.time() - path.stat().st_mtime > ttl.total_seconds():
            return None
        return SearchResult.model_validate_json(path.read_text())
    except (OSError, ValueError):
        return None


def _store(path: Path, result: SearchResult) -> None:
    try:
        atomic_write(path, result.model_dump_json(), what="search cache")
    except OSError as exc:  # a cache that cannot be written costs a re-query next run, never this run
        log.warning("could not cache the search answer at %s (%s); continuing without it", path, exc)


@task(name="search-arxiv", cache_policy=NO_CACHE)
def search_arxiv(query: Query, retrieval: RetrievalSettings, cache_dir: str) -> SearchResult | str:
    """One query against the live arXiv API: its answer, or why arXiv could not answer (the caller falls back).

    Live answers are kept for a day under a key of (query, result count, API URL). An endpoint that answered with
    an error is asked again next time; one that could not be reached (refused, DNS, timeout) is skipped for
    ``retrieval.cooldown_s`` (tasks/retrieval/arxiv_breaker.py), in this run and the next ones, until a live
    answer arrives or the cooldown ends.
    """
    started = time.perf_counter()
    live_file = _search_cache_file(cache_dir, "arxiv", query.text, retrieval.max_results_per_query, retrieval.api_url)
    cached = _read_cached(live_file, LIVE_ANSWER_TTL)
    if cached is not None:
        return cached.model_copy(update={"seconds": time.perf_counter() - started})
    tripped = arxiv_breaker.open_state(project_path(cache_dir), retrieval.api_url, retrieval.cooldown_s)
    if tripped is not None:
        return f"circuit open: {tripped.error}"
    try:
        papers = search_live(query, retrieval.max_results_per_query, retrieval.timeout_s, retrieval.retries, retrieval.backoff_s, retrieval.api_url)
    except ArxivUnavailable as exc:
        error = str(exc).split("(Caused by")[0].strip()[:160]
        log.info("arXiv unreachable for %r (%s): FALLING BACK to the local snapshot", query.text, error)
        if exc.unreachable:
            arxiv_breaker.trip(project_path(cache_dir), retrieval.api_url, error, retrieval.cooldown_s)
        return error
    arxiv_breaker.clear(project_path(cache_dir), retrieval.api_url)
    result = SearchResult(query=query, papers=papers, source="arxiv", seconds=time.perf_counter() - started)
    _store(live_file, result)
    return result


def search_snapshot_answers(queries: list[Query], retrieval: RetrievalSettings, cache_dir: str) -> dict[str, SearchResult]:
    """The snapshot's answer to each query: cached ones read back, all the others scored in ONE two-pass scan.

    Answers are kept under a key of (query, result count, snapshot file fingerprint), so an edited snapshot is
    searched again. One scan for all queries matters for the full Kaggle dump (millions of lines).
    """
    started = time.perf_counter()
    fingerprint = _snapshot_fingerprint(retrieval.snapshot_path)
    files = {q.text: _search_cache_file(cache_dir, "snapshot", q.text, retrieval.max_results_per_query, fingerprint) for q in queries}
    answers = {text: hit for text, path in files.items() if (hit := _read_cached(path, None)) is not None}
    todo = [q for q in queries if q.text not in answers]
    if todo:
        ranked, _ = search_snapshot(project_path(retrieval.snapshot_path), todo, retrieval.max_results_per_query)
        for q in todo:
            answers[q.text] = SearchResult(query=q, papers=ranked[q.text], source="snapshot")
            _store(files[q.text], answers[q.text])
    seconds = time.perf_counter() - started
    return {text: a.model_copy(update={"seconds": seconds}) for text, a in answers.items()}


def search_all(queries: list[Query], retrieval: RetrievalSettings, cache_dir: str) -> list[SearchResult]:
    """Every query: live arXiv in parallel (mapped tasks), then one snapshot scan for those arXiv did not answer."""
    if retrieval.backend == "arxiv":
        live = [f.result() for f in engine.map(search_arxiv, queries, retrieval=retrieval, cache_dir=cache_dir)]
    else:
        live = ["retrieval.backend=snapshot"] * len(queries)
    missing = [q for q, answer in zip(queries, live) if isinstance(answer, str)]
    fallback = search_snapshot_answers(missing, retrieval, cache_dir) if missing else {}
    return [answer if not isinstance(answer, str) else fallback[q.text].model_copy(update={"error": answer})
            for q, answer in zip(queries, live)]


def _rerank_key(_, params: dict) -> str:
    papers: list[Paper] = params["papers"]
    return "rerank-" + _digest(params["question"], params["embedder"].model_dump(), [(p.arxiv_id, p.version) for p in papers])


@task(name="semantic-rerank", cache_key_fn=_rerank_key, cache_expiration=timedelta(days=30), persist_result=True)
def rerank(question: str, papers: list[Paper], embedder: EmbedderSettings) -> list[Paper]:
    """Order the TF-IDF survivors by embedding similarity to the question."""
    model = load_embedder(embedder.kind, embedder.model, embedder.dimension, embedder.api_key_env)
    vectors = model.embed([p.text for p in papers])
    return semantic_rerank(model.embed([question])[0], papers, vectors)


def _index_dir(papers: list[Paper], embedder: EmbedderSettings, index: IndexSettings, cache_dir: str) -> Path:
    key = _digest(embedder.model_dump(), index.chunk_chars, index.chunk_overlap_sentences, paper_ids_digest([f"{p.arxiv_id}v{p.version}" for p in papers]))
    return project_path(cache_dir) / "index" / key


@task(name="build-index", cache_policy=NO_CACHE)
def index_papers(papers: list[Paper], embedder: EmbedderSettings, index: IndexSettings, cache_dir: str) -> tuple[str, IndexCard, bool]:
    """Chunk, embed and index the papers; reuse a valid index on disk, rebuild a corrupt one.

    The directory name is a hash of what the index depends on (embedder, chunking,
    paper ids), so it is its own cache key. Returns (dir, card, reused).
    """
    out_dir = _index_dir(papers, embedder, index, cache_dir)
    existing = load_or_none(out_dir)
    if existing is not None:
        return str(out_dir), existing.card, True
    if (out_dir / "index_card.json").exists():
        log.warning("cached FAISS index at %s is corrupt: rebuilding it", out_dir)
    model = load_embedder(embedder.kind, embedder.model, embedder.dimension, embedder.api_key_env)
    chunks = [c for p in papers for c in chunk_paper(p, index.chunk_chars, index.chunk_overlap_sentences)]
    vectors = model.embed([c.text for c in chunks])
    card = build_index(chunks, vectors, model.name, {"chunk_chars": index.chunk_chars, "overlap_sentences": index.chunk_overlap_sentences}, out_dir)
    return str(out_dir), card, False


@dataclass
class Literature:
    """What the literature stage hands on: kept papers, all decisions, the index and its provenance."""

    queries: list[Query]
    results: list[SearchResult]
    decisions: list[RelevanceDecision]
    papers: list[Paper]
    index_dir: str
    card: IndexCard
    index_reused: bool
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def sources(self) -> list[str]:
        return sorted({r.source for r in self.results})


def _searcher(retrieval: RetrievalSettings, cache_dir: str, results: list[SearchResult]):
    """A ``Search`` for tasks.retrieval.pipeline over the flow's cached live-or-snapshot search; keeps every answer."""
    def search(queries: list[Query]) -> dict[str, list[Paper]]:
        answers = search_all(queries, retrieval, cache_dir)
        results.extend(answers)
        return {a.query.text: a.papers for a in answers}
    return search


def _llm_queries(settings: Settings) -> list[Query]:
    """Extra queries from the llm group's chat model when ``retrieval.llm_expansion`` is on and its key is set, else []."""
    import os

    llm = settings.llm
    if not settings.retrieval.llm_expansion or llm is None or (llm.api_key_env and not os.environ.get(llm.api_key_env)):
        if settings.retrieval.llm_expansion:
            log.warning("retrieval.llm_expansion=true but no usable llm group/key: the question's own queries only")
        return []
    from tasks.llm.factory import build_chat_model
    from tasks.retrieval.llm_expand import llm_queries

    return llm_queries(settings.question.text, build_chat_model(llm))


_RETRIEVAL_CODE = sorted((PROJECT_ROOT / "tasks" / "retrieval").glob("*.py"))


def _hybrid_key(_, params: dict) -> str:
    """Everything the hybrid decisions depend on: inputs, embedder, knobs and the retrieval code itself."""
    papers: list[Paper] = params["papers"]
    code = hashlib.sha256(b"".join(f.read_bytes() for f in _RETRIEVAL_CODE if f.exists())).hexdigest()[:16]
    return "hybrid-relevance-" + _digest(params["question"], params["query_texts"], params["embedder"].model_dump(),
                                         [(p.arxiv_id, p.version, p.text) for p in papers], params["min_keep"],
                                         list(params["names"]), params["neighbours"], params["neighbour_weight"], code)


@task(name="hybrid-relevance", cache_key_fn=_hybrid_key, cache_expiration=timedelta(days=30), persist_result=True)
def hybrid_relevance(question: str, query_texts: list[str], papers: list[Paper], embedder: EmbedderSettings, min_keep: int,
                     names: list[str], neighbours: int, neighbour_weight: float) -> list[RelevanceDecision]:
    """hybrid_filter as a cached task: a re-run with the same question and papers skips the embedder entirely."""
    model = load_embedder(embedder.kind, embedder.model, embedder.dimension, embedder.api_key_env)
    return hybrid_filter(question, query_texts, papers, model, min_keep, names, neighbours, neighbour_weight)


def select_papers(settings: Settings, queries: list[Query], merged: list[Paper]) -> tuple[list[RelevanceDecision], list[Paper]]:
    """The relevance method of ``settings.relevance`` over the retrieved papers: every decision, and the kept papers
    best first (at most ``retrieval.max_papers``)."""
    r, rel = settings.retrieval, settings.relevance
    if rel.method == "tfidf_seed":
        decisions = tfidf_filter(settings.question.text, merged, r.relevance_threshold, r.ngram_max)
        survivors = [d.paper for d in decisions if d.kept]
        return decisions, (engine.call(rerank, settings.question.text, survivors, settings.embedder)[: r.max_papers] if survivors else [])
    decisions = engine.call(hybrid_relevance, settings.question.text, [q.text for q in queries], merged, settings.embedder, rel.min_keep,
                                 list(question_names(settings.question)), rel.neighbours, rel.neighbour_weight)
    kept = sorted((d.paper for d in decisions if d.kept), key=lambda p: (-(p.relevance or 0.0), p.arxiv_id))
    return decisions, kept[: r.max_papers]


def run_literature(settings: Settings, timer: StageTimer) -> Literature:
    """Run retrieval, filtering and indexing for ``settings.question``."""
    r = settings.retrieval
    with timer.stage("retrieval", f"({r.backend})") as note:
        max_queries = 4 if settings.run.smoke else r.max_queries
        answers: list[SearchResult] = []
        queries, _ = two_round_queries(settings.question, max_queries, _searcher(r, settings.run.cache_dir, answers),
                                       extra=_llm_queries(settings))
        by_text = {a.query.text: a for a in answers}
        results = [by_text[q.text].model_copy(update={"query": q}) for q in queries]
        sources = sorted({x.source for x in results})
        fell_back = [x for x in results if x.source == "snapshot" and r.backend == "arxiv"]
        if fell_back:
            tripped = arxiv_breaker.open_state(project_path(settings.run.cache_dir), r.api_url, r.cooldown_s)
            if tripped is not None:  # one line for the whole run, with when it failed and how to ask again
                console.print(f"[bold yellow]⚠ {tripped.describe()} ({r.snapshot_path}, {len(fell_back)}/{len(results)} queries)[/]")
            else:
                console.print(
                    f"[bold yellow]⚠ arXiv API unreachable for {len(fell_back)}/{len(results)} queries "
                    f"({fell_back[0].error}); served from the local snapshot {r.snapshot_path}[/]"
                )
        merged = merge_dedupe([x.papers for x in results])
        note["summary"] = f"{len(queries)} queries → {len(merged)} unique papers (source: {', '.join(sources)})"
    with timer.stage("relevance") as note:
        decisions, kept = select_papers(settings, queries, merged)
        dropped = sum(not d.kept for d in decisions)
        how = (f"TF-IDF ≥ {r.relevance_threshold}" if settings.relevance.method == "tfidf_seed"
               else "hybrid: BM25 + embedding, cut within this set")
        note["summary"] = f"kept {len(kept)} / dropped {dropped} of {len(decisions)} ({how})"
        for d in sorted(decisions, key=lambda d: -(d.paper.relevance or 0)):
            log.info("%s %.3f %s (%s)", "KEEP" if d.kept else "DROP", d.paper.relevance or 0, d.paper.title[:80], d.reason)
    if not kept:
        raise RuntimeError(
            f"no paper passed the relevance filter (relevance={settings.relevance.method}, threshold {r.relevance_threshold}); "
            "use relevance=hybrid, lower retrieval.relevance_threshold or check retrieval.snapshot_path"
        )
    with timer.stage("index") as note:
        index_dir, card, reused = engine.call(index_papers, kept, settings.embedder, settings.index, settings.run.cache_dir)
        note["summary"] = f"{card.vectors} vectors, dim {card.dimension} ({'reused' if reused else 'built'})"
    cut = next((d.scores.get("cut") for d in decisions if "cut" in d.scores), None)
    metrics = {
        "queries": len(queries),
        "papers_retrieved": len(merged),
        "papers_kept": len(kept),
        "papers_dropped": dropped,
        "chunks": card.vectors,
        "vectors": card.vectors,
        "snapshot_fallback_queries": len(fell_back),
    } | ({"relevance_cut": cut} if cut is not None else {})
    return Literature(queries, results, decisions, kept, index_dir, card, reused, metrics)
