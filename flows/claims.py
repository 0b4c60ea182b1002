"""Claims stage: extract checkable claims from kept papers, verify them against the index and our sweep."""

from __future__ import annotations

import csv
import io
import hashlib
import json
import logging
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from prefect import task

from flows import engine
from flows.progress import StageTimer
from flows.safety import atomic_write
from tasks.claims.empirical import verify_empirically
from tasks.claims.evaluate import paper_chunk_lookup
from tasks.claims.extract import extract_from_papers, rank_by_question
from tasks.claims.independence import headline, merge_corroboration
from tasks.claims.records import Claim, EmpiricalFact, Verdict
from tasks.claims.settings import VerifierSettings
from tasks.claims.verifiers import independent_verifier, make_verifier
from tasks.index.embedder import MemoEmbedder, load_embedder
from tasks.index.faiss_store import IndexStore
from tasks.llm.settings import LLMSettings
from tasks.moe.specs import load_model_spec
from tasks.records import Paper
from tasks.settings import PROJECT_ROOT, EmbedderSettings, Settings

log = logging.getLogger("sovereign.claims")


_CLAIMS_CODE = (sorted((PROJECT_ROOT / "tasks" / "claims").glob("*.py")) + [Path(__file__)]
                + sorted((PROJECT_ROOT / "tasks" / "claims" / "data").glob("*.yaml"))  # lexicons decide verdicts too
                + sorted((PROJECT_ROOT / "tasks" / "claims" / "data").glob("*.npz")))  # and so do trained adapters


def _verify_key(_, params: dict) -> str:
    """Claims, index card, verifier settings, the judge model (verifier=llm) and the verifier's code: a change to any
    re-verifies."""
    claims: list[Claim] = params["claims"]
    card = (Path(params["index_dir"]) / "index_card.json").read_text()
    code = hashlib.sha256(b"".join(f.read_bytes() for f in _CLAIMS_CODE)).hexdigest()
    judge = params["llm"].model_dump() if params["verifier"].name == "llm" and params["llm"] else None
    blob = json.dumps([[c.claim_id, c.text] for c in claims] + [card, params["verifier"].model_dump(), judge, code],
                      sort_keys=True, default=str)
    return "verify-" + hashlib.sha256(blob.encode()).hexdigest()[:24]


_RANK_CODE = _CLAIMS_CODE + sorted((PROJECT_ROOT / "tasks" / "retrieval").glob("*.py"))  # rank_by_question scores with BM25


def _ranked_key(_, params: dict) -> str:
    """The papers as extracted (every field), the question, the embedder, and the extraction and ranking code."""
    code = hashlib.sha256(b"".join(f.read_bytes() for f in _RANK_CODE if f.exists())).hexdigest()
    blob = json.dumps([[p.model_dump(mode="json") for p in params["papers"]], params["question"],
                       params["embedder"].model_dump(), code], sort_keys=True, default=str)
    return "ranked-claims-" + hashlib.sha256(blob.encode()).hexdigest()[:24]


_STAGE_MEMO: dict[tuple, MemoEmbedder] = {}  # one claims stage: texts the ranking embedded are not embedded again


def _stage_embedder(e: EmbedderSettings) -> MemoEmbedder:
    """The embedder of this claims stage, remembering every vector (the claim texts ranked, then searched for)."""
    key = (e.kind, e.model, e.dimension, e.api_key_env)
    if key not in _STAGE_MEMO:
        _STAGE_MEMO.clear()
        _STAGE_MEMO[key] = MemoEmbedder(load_embedder(*key))
    return _STAGE_MEMO[key]


@task(name="extract-claims", cache_key_fn=_ranked_key, cache_expiration=timedelta(days=30), persist_result=True)
def extract_ranked(papers: list[Paper], question: str, embedder: EmbedderSettings) -> tuple[list[Claim], list[Claim]]:
    """Rule extraction ranked by the question: (on-topic, off-topic). Cached, so a re-run with the same papers loads
    no embedder."""
    return rank_by_question(extract_from_papers(papers), question, {p.arxiv_id: p.title for p in papers}, _stage_embedder(embedder))


def _ranked_claims(papers: list[Paper], settings: Settings) -> tuple[list[Claim], list[Claim]]:
    """On-topic and off-topic claims: the cached rule path, or ``verifier.extractor=llm`` asked afresh each run."""
    if settings.verifier.extractor != "llm":
        return engine.call(extract_ranked, papers, settings.question.text, settings.embedder)
    e = settings.embedder
    return rank_by_question(_extract(papers, settings), settings.question.text, {p.arxiv_id: p.title for p in papers},
                            load_embedder(e.kind, e.model, e.dimension, e.api_key_env))


def _without(lookup, source: str | None):
    """The paper-chunk lookup with the claim's own paper left out."""
    narrowed = lambda arxiv_id: [] if arxiv_id == source else lookup(arxiv_id)  # noqa: E731
    narrowed.titles = {pid: title for pid, title in lookup.titles.items() if pid != source}
    return narrowed


def _planned_queries(claims: list[Claim], checker) -> list[str]:
    """The texts the verifier will embed, found by a dry pass whose retrieve records the text and finds nothing.

    The deterministic verifiers derive their queries from the claim text alone; a query that depends on what
    was found is simply embedded when it is asked for.
    """
    asked: list[str] = []

    def record(text: str, k: int) -> list:
        asked.append(text)
        return []

    for claim in claims:
        try:
            checker.verify(claim, record, claim.source_id)
        except Exception:  # noqa: BLE001 - the real pass reports a verifier failure, not this dry one
            continue
    return asked


@task(name="verify-claims", cache_key_fn=_verify_key, cache_expiration=timedelta(days=30), persist_result=True)
def verify_claims(claims: list[Claim], index_dir: str, verifier: VerifierSettings, embedder: EmbedderSettings,
                  llm: LLMSettings | None) -> tuple[list[Verdict], list[Verdict]]:
    """Verify each claim against the FAISS index, then against the other papers only (independent corroboration).

    A claim that cannot be checked gets NOT_ENOUGH_INFO, never an error. The independent pass runs
    for the deterministic verifiers; for verifier=llm it is skipped (it would double the model calls).
    """
    store = IndexStore(Path(index_dir))
    model = _stage_embedder(embedder)
    chat_model = None
    if verifier.name == "llm":
        from tasks.llm.factory import build_chat_model

        chat_model = build_chat_model(llm) if llm else None
    lookup = paper_chunk_lookup(store.chunks)
    if verifier.name != "llm":  # embed every query both passes will ask for in one batch, not one call each
        model.prefetch(_planned_queries(claims, make_verifier(verifier, paper_chunks=lookup)))
    checker = make_verifier(verifier, chat_model=chat_model, paper_chunks=lookup)
    with _one_torch_thread():
        verdicts = [checker.verify(claim, lambda text, k: store.query(text, model, k), claim.source_id) for claim in claims]
        if verifier.name == "llm":
            return verdicts, []
        independent = []
        for claim in claims:
            others = independent_verifier(verifier, paper_chunks=_without(lookup, claim.source_id))
            retrieve = lambda text, k, src=claim.source_id: [h for h in store.query(text, model, 2 * k) if h.chunk.arxiv_id != src][:k]  # noqa: E731
            v = others.verify(claim, retrieve, claim.source_id)  # the source marks its own paper: never corroboration
            independent.append(v.model_copy(update={"verifier": f"{v.verifier}:other-papers"}))
    return verdicts, independent


@contextmanager
def _one_torch_thread():
    """Torch on one thread while claims are checked one pair at a time (the cross-encoder's tiny forward passes).

    With torch's default two OpenMP threads on the loaded 2-core machine, 60 cross-encoder pairs took 0.9 s in one
    run and 21.9 s (all of it CPU: threads spinning for a descheduled sibling) in the next; on one thread 1.1-1.2 s
    every time. First runs of the main job swung from 4 s to 59 s in the claims stage the same way. The batched
    embedding before this block keeps torch's default. Without torch loaded (embedder=nim, tfidf) nothing changes.
    """
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def empirical_facts(sweep, settings: Settings) -> list[EmpiricalFact]:
    """Our own numbers, one fact per (MoE point, metric), each with its own class: step time and bandwidth measured where
    a GPU result exists, else modelled (roofline); unique experts always modelled (synthetic routing); bound modelled."""
    if sweep is None:
        return []
    target = settings.question.structured.hardware if settings.question.structured else settings.hardware.name
    facts: list[EmpiricalFact] = []
    for point in sweep.points:
        p = point.projected
        if p.failed or p.routing not in (settings.routing.kind, "dense"):
            continue
        name = load_model_spec(p.model).display_name
        m = point.measurement
        source = m.source if m else "modelled"
        common = dict(model=name, n_tokens=p.n_tokens, source=source, run_id=point.run_id, run_link=f"runs:/{point.run_id}")
        if p.stats:
            unique = m.point.unique_experts_mean if m and m.point.unique_experts_mean is not None else p.stats["unique_mean"]
            facts.append(EmpiricalFact(metric="unique_experts_mean", value=unique, unit="experts", **(common | {"source": "modelled"})))
        roof = p.roofline.get(target) or next(iter(p.roofline.values()), None)
        step = m.point.step_ms if m else (roof or {}).get("time_ms")
        util = m.point.util_copy if m else (roof or {}).get("bandwidth_utilisation_projected")
        if step is not None:
            facts.append(EmpiricalFact(metric="step_ms", value=step, unit="ms", **common))
        if util is not None:
            facts.append(EmpiricalFact(metric="bandwidth_utilisation", value=util, unit="fraction", **common))
        if p.stats and roof and roof.get("bound"):
            facts.append(EmpiricalFact(metric="memory_bound", value=float(roof["bound"] == "memory"), unit="bool",
                                       **(common | {"source": "modelled"})))
    return facts


def _extract(papers: list[Paper], settings: Settings) -> list[Claim]:
    """Rule extraction by default; ``verifier.extractor=llm`` asks the ``llm`` chat model (rules on failure)."""
    if settings.verifier.extractor != "llm":
        return extract_from_papers(papers)
    if settings.llm is None:
        raise ValueError("verifier.extractor=llm needs an llm config group (llm=nim|openai|ollama)")
    from tasks.claims.llm_extract import extract_claims_llm
    from tasks.llm.factory import build_chat_model

    chat_model = build_chat_model(settings.llm)
    return [c for paper in papers for c in extract_claims_llm(paper, chat_model)]


@dataclass
class ClaimsOutcome:
    claims: list[Claim]
    verdicts: list[Verdict]
    empirical: list[Verdict]
    independent: list[Verdict]
    files: list[Path]
    metrics: dict[str, float]


def _write_table(out_dir: Path, claims: list[Claim], verdicts: list[Verdict], empirical: list[Verdict]) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    by_id = {c.claim_id: c for c in claims}
    rows = []
    for v in verdicts + empirical:
        claim = by_id.get(v.claim_id)
        best = v.evidence[0] if v.evidence else None
        rows.append({
            "claim_id": v.claim_id, "claim": claim.text if claim else v.claim_text, "source": claim.source_id if claim else "",
            "type": claim.type if claim else "", "verifier": v.verifier, "verdict": v.label, "confidence": round(v.confidence, 3),
            "evidence": f"[{best.paper_id}] {best.text[:300]}" if best else "", "metric": v.metric or "",
            "our_value": v.our_value if v.our_value is not None else "", "measured_or_projected": v.source or "",
            "run": v.run_link or "", "rationale": v.rationale[:300],
        })
    csv_path, jsonl_path = out_dir / "claims.csv", out_dir / "claims.jsonl"
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["claim_id"])
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(csv_path, buffer.getvalue(), what="claims table")
    atomic_write(jsonl_path, "".join(json.dumps(r) + "\n" for r in rows), what="claims table")
    return [csv_path, jsonl_path]


def run_claims(ctx, settings: Settings, papers: list[Paper], index_dir: str, sweep, timer: StageTimer) -> ClaimsOutcome:
    """Extract, verify against the index, then check the empirical ones against the sweep."""
    with timer.stage("claims", f"({settings.verifier.name} verifier)") as note:
        try:
            claims, off_topic = _ranked_claims(papers, settings)
            verdicts, independent = engine.call(verify_claims, claims, index_dir, settings.verifier, settings.embedder, settings.llm) if claims else ([], [])
        finally:
            _STAGE_MEMO.clear()
        verdicts = merge_corroboration(verdicts, independent)  # the report and the tribunal see who corroborates a claim
        facts = empirical_facts(sweep, settings)
        empirical = [v for c in claims if (v := verify_empirically(c, facts)) is not None] if facts else []
        if settings.routing.kind != "trace":  # say what our expert counts rest on
            note_routing = f"; our expert counts come from the synthetic '{settings.routing.kind}' routing model, not recorded traces"
            empirical = [v.model_copy(update={"rationale": v.rationale + note_routing}) if v.metric and "unique_experts" in v.metric else v
                         for v in empirical]
        labels = [v.label for v in verdicts]
        metrics = {
            **headline(verdicts, independent, empirical),  # claims_verified: other papers and our measurements only
            "claims_extracted": len(claims) + len(off_topic),
            "claims_off_topic": len(off_topic),
            "claims_supported": labels.count("SUPPORTED"),
            "claims_contradicted": labels.count("CONTRADICTED"),
            "claims_not_enough_info": labels.count("NOT_ENOUGH_INFO"),
            "claims_verifier_failed": sum(v.failed for v in verdicts),
            "claims_contradicted_by_other_papers": sum(v.label == "CONTRADICTED" for v in independent),
            "claims_empirical": len(empirical),
            "claims_empirical_supported": sum(v.label == "SUPPORTED" for v in empirical),
            "claims_empirical_contradicted": sum(v.label == "CONTRADICTED" for v in empirical),
        }
        files = _write_table(ctx.out_dir / "claims", claims, verdicts, empirical + independent)
        note["summary"] = (f"{len(claims)} claims, {metrics['claims_verified']} verified by other papers or our "
                           f"measurements; against their own papers: {metrics['claims_supported']} supported, {metrics['claims_contradicted']} contradicted, "
                           f"{metrics['claims_not_enough_info']} not enough info; other papers corroborate "
                           f"{metrics['claims_corroborated_by_other_papers']} and contradict {metrics['claims_contradicted_by_other_papers']}; "
                           f"{len(empirical)} checked against our sweep")
    return ClaimsOutcome(claims, verdicts, empirical, independent, files, metrics)
