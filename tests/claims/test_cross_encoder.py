"""The cross-encoder behind check "entail": its plain-torch encoder is MiniLM, its adapters fold in exactly, the
shipped model loads offline, and the verdict lets it settle only what the rules left open (invented texts)."""

import random

import numpy as np
import pytest
import torch

from tasks.claims.cross_encoder import CLASSES, CrossEncoder, class_probabilities, load, support_probability
from tasks.claims.cross_encoder_data import base_path, encode, premise, scale_number, swap_opposite, tokenizer
from tasks.claims.findings import Finding, decide
from tasks.claims.hybrid import HybridVerifier
from tasks.records import Chunk, ChunkHit
from tests.claims.conftest import fake_retriever, make_paper


@pytest.fixture(scope="module")
def base():
    from safetensors.torch import load_file

    return load_file(str(base_path() / "model.safetensors"))


def test_plain_torch_encoder_is_minilm(base):
    from sentence_transformers import SentenceTransformer

    texts = ["Experts are streamed from HBM once per step.", "Larkspur keeps attention weights in SRAM."]
    model = CrossEncoder()
    model.load_base(base)
    model.head = torch.nn.Identity()  # mean-pooled hidden states, as the sentence embedder pools them
    enc = tokenizer().encode_batch(texts)  # single texts, as the sentence embedder reads them
    width = max(len(e.ids) for e in enc)
    ids = torch.tensor([e.ids + [0] * (width - len(e.ids)) for e in enc])
    mask = torch.tensor([[1] * len(e.ids) + [0] * (width - len(e.ids)) for e in enc])
    with torch.no_grad():
        ours = torch.nn.functional.normalize(model.eval()(ids, mask, torch.zeros_like(ids)), dim=-1).numpy()
    ref = SentenceTransformer(str(base_path()), device="cpu").encode(texts, normalize_embeddings=True)
    assert np.abs(ours - ref).max() < 1e-4


def test_folding_the_adapters_keeps_the_outputs(base):
    torch.manual_seed(0)
    model = CrossEncoder()
    model.load_base(base)
    for name, p in model.named_parameters():
        if "lora_b" in name:
            p.data.normal_(0, 0.02)
    t = encode([("Plover triples throughput.", "Plover: Token Pruning. Plover triples the throughput of ViT-B.")])
    with torch.no_grad():
        before = model.eval()(t["ids"], t["mask"], t["types"])
        model.merge_adapters()
        after = model(t["ids"], t["mask"], t["types"])
    assert torch.allclose(before, after, atol=1e-4)


def test_shipped_model_loads_offline_and_gives_probabilities():
    assert load() is load()
    p = support_probability("Plover triples the throughput of ViT-B.", "Plover: Token Pruning. Plover triples ViT-B throughput.")
    assert 0.0 <= p <= 1.0 and len(CLASSES) == 3


def test_a_settle_finding_fills_gaps_but_never_outweighs_a_contradiction():
    gap = Finding("numbers", "gap", "nothing aligned settles 'one twentieth'")
    settle = Finding("entail", "settle", "cross-encoder reads the claim as borne out", "p#0", 0.7)
    contra = Finding("numbers", "contradict", "claim says 5% but the paper says 9%", "p#0", 0.6)
    assert decide([gap, settle])[0] == "SUPPORTED"
    assert decide([gap, settle])[1] == 0.7
    assert decide([contra, settle])[0] == "CONTRADICTED"
    assert decide([gap])[0] == "NOT_ENOUGH_INFO"


def test_entail_is_not_asked_when_the_rules_decide():
    """With the fixed decision the check asks the model only about claims the rules leave open (the learned
    decision reads the model's probabilities for every claim: tests/claims/test_decision.py)."""
    retrieve = fake_retriever([make_paper("2504.00201", "Garganey: Fast Kernels",
                                          "Garganey speeds up decoding by 2.5x on H100 GPUs.")])
    rules = HybridVerifier(paper_chunks=retrieve.paper_chunks, decision="rules")
    before = class_probabilities.cache_info()
    verdict = rules.verify("Garganey speeds up decoding by 2.5x.", retrieve)
    after = class_probabilities.cache_info()
    assert verdict.label == "SUPPORTED" and (after.hits, after.misses) == (before.hits, before.misses)
    unsettled = rules.verify("Garganey halves the memory it needs.", retrieve)
    assert unsettled.label in ("NOT_ENOUGH_INFO", "SUPPORTED") and class_probabilities.cache_info().misses > after.misses


def test_premise_reads_the_best_hits_paper_best_chunk_first():
    a0 = Chunk(chunk_id="a#0", arxiv_id="a", title="Tern", text="Tern is a router. It has two experts.", start=0, end=1)
    a1 = Chunk(chunk_id="a#1", arxiv_id="a", title="Tern", text="It has two experts. Tern runs on T4 GPUs.", start=1, end=2)
    b0 = Chunk(chunk_id="b#0", arxiv_id="b", title="Smew", text="Smew is a cache.", start=0, end=1)
    text = premise([ChunkHit(chunk=b0, score=0.4), ChunkHit(chunk=a1, score=0.9), ChunkHit(chunk=a0, score=0.5)])
    assert text == "Tern. It has two experts. Tern runs on T4 GPUs. Tern is a router."


def test_counterfactuals_change_what_they_say():
    rng = random.Random(0)
    scaled = scale_number("Tern cuts latency by 40% on T4 GPUs.", rng)
    assert scaled and "40%" not in scaled
    assert swap_opposite("Tern is faster than Smew.", rng) == "Tern is slower than Smew."
    assert swap_opposite("Tern is a router.", rng) is None


def test_a_missing_model_turns_the_check_off_not_the_claim(tmp_path, caplog, monkeypatch):
    from tasks.claims import cross_encoder
    from tasks.claims.align import align
    from tasks.claims.check_entail import Entail
    from tasks.claims.records import Claim

    retrieve = fake_retriever([make_paper("2504.00202", "Gadwall: Expert Caching",
                                          "Gadwall caches hot experts in HBM and streams the rest.")])
    broken = tmp_path / "cross-encoder.npz"
    broken.write_bytes(b"not an npz")
    monkeypatch.setattr(cross_encoder, "ADAPTER", broken)
    for cached in (cross_encoder.load, cross_encoder.class_probabilities):
        cached.cache_clear()
    try:
        text = "Gadwall caches hot experts."
        check = Entail(paper_chunks=retrieve.paper_chunks)
        assert check(align(Claim(claim_id="c1", text=text), retrieve(text, 4), None)) == []
        assert "could not load" in caplog.text
    finally:
        for cached in (cross_encoder.load, cross_encoder.class_probabilities):
            cached.cache_clear()
