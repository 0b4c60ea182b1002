"""Report parts for models measured sharded over several GPUs (issue 17): the abstract's sentence for a question
model that no single GPU holds, and the "Two GPUs" results subsection. Every number is rendered with its tag from
the bundle's records (token_latency, feasibility, two_gpu), as in tasks/report/flagship.py."""

from __future__ import annotations

from tasks.gpu.results import gpus_in_name
from tasks.provenance import Provenance
from tasks.tribunal.bundle import EvidenceBundle, hardware_family
from tasks.tribunal.common import num

ENGINE_WORDS = {"ep2_all_to_all": "expert parallel, all-to-all dispatch", "ep2_replicated": "expert parallel, no dispatch",
                "tp2": "tensor parallel"}


def abstract_sentences(bundle: EvidenceBundle, central: str | None) -> list[str]:
    """For each question model measured only across several GPUs: its measured per-token latency at the asked N and
    its one projected answer on the target GPU count, each with its tag."""
    from tasks.report.flagship import _name, _per_token, hw_words

    q = bundle.asked
    ns = sorted(q.parallel_tokens)
    fam = hardware_family(q.hardware)
    out = []
    for model in q.models:
        if model == central:
            continue
        rows = [t for t in bundle.token_latency if t.model == model and t.n_tokens in ns]
        meas = [t for t in rows if t.provenance.startswith("measured") and gpus_in_name(t.hardware) > 1]
        if not meas:
            continue
        gpu = meas[0].hardware
        s = (f"{_name(bundle, model)} does not fit one GPU and was measured sharded on {gpu}: per committed token a step costs "
             + " and ".join(f"{_per_token(t)} at N={t.n_tokens}" for t in meas if t.hardware == gpu))
        target = [t for t in rows if hardware_family(t.hardware) == fam and t.provenance.startswith("projected")]
        if target:
            s += (f"; on {hw_words(bundle, target[0].hardware)}, the count it needs, that projects to "
                  + " and ".join(f"{_per_token(t)} at N={t.n_tokens}" for t in target))
        out.append(s + ".")
    return out


def two_gpus_section(bundle: EvidenceBundle) -> str:
    """Sharded steps beside the one-GPU figure of the same model and N (measured rows of the sweep)."""
    if not bundle.two_gpu:
        return ""
    decode = {(r.model, r.engine) for r in bundle.two_gpu if r.kind == "decode"}
    rows = []
    for r in bundle.two_gpu:
        if r.kind == "step" and r.n_tokens == 1 and (r.model, r.engine) in decode:
            continue  # a dense model's N=1 step is its batch-1 decode, shown once
        one = next((x for x in bundle.rows(r.model, r.n_tokens, measured=True) if gpus_in_name(x.hardware) == 1 and x.step_ms), None)
        tag = Provenance(kind="measured", source=r.hardware).tag()
        pct = lambda v: f"{num(100 * v, 3)}%" if v is not None else "-"  # noqa: E731
        rows.append([r.model, "decode (batch 1)" if r.kind == "decode" else r.n_tokens, ENGINE_WORDS.get(r.engine, r.engine),
                     f"{num(r.step_ms, 4)} {tag}", pct(r.a2a_share) if r.a2a_share else "none", pct(r.comm_share), pct(r.roofline_ratio),
                     f"{num(one.step_ms, 4)} {one.step_provenance.tag()}" if one else "- (does not fit one GPU)"])
    files = ", ".join(sorted({f"`{r.results_file}`" for r in bundle.two_gpu}))
    from tasks.report.flagship import _table

    return ("Steps sharded over two GPUs of one host, one process per GPU (NCCL; tasks/gpu/parallel): tensor parallel for "
            "attention and dense FFNs, expert parallel for the routed experts, either dispatching tokens with an all-to-all "
            "or, with no dispatch, each GPU running its own experts on all N tokens. Step = the slower GPU's median; the "
            "all-to-all and all-collective shares are the step's collectives replayed alone, divided by the step; roofline = "
            "per-GPU bytes / measured copy bandwidth, over the step. Unique experts per GPU come from the calibrated "
            f"router [modelled: {'calibrated routing'}]. Results files: {files}.\n\n"
            + _table(["model", "N", "parallelism", "step ms", "all-to-all share", "all collectives share", "per-GPU roofline",
                      "one GPU ms"], rows))
