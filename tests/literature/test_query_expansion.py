"""Queries come from the question's text; a structured block only adds."""

from tasks.retrieval.phrases import acronym_definitions, key_phrases, name_keys, named_in_title, named_things
from tasks.retrieval.queries import expand_queries, feedback_query, synonym_queries
from tasks.settings import QuestionSettings

KV = "How do KV-cache and caching techniques for diffusion language models change their decoding throughput compared with autoregressive models?"
CORPUS = [
    "Mixture-of-Experts (MoE) layers route each token to a few experts; offloading experts to CPU memory saves GPU memory.",
    "Diffusion language models cannot reuse a key-value (KV) cache because attention is bidirectional; dKV-Cache delays caching.",
    "Fast-dLLM adds a block-wise approximate KV cache and confidence-aware parallel decoding for diffusion LLMs.",
    "Image diffusion transformers scale with Gflops.",
]


def test_key_phrases_and_named_things_of_a_new_question():
    assert key_phrases(KV) == ["KV-cache", "caching techniques", "diffusion language models", "decoding throughput", "autoregressive models"]
    assert named_things("Compare Llama-2-70B on H100 GPUs with MoE offloading") == ["Llama-2-70B", "H100", "GPUs", "MoE"]


def test_queries_come_from_the_text_not_the_flagship():
    queries = expand_queries(QuestionSettings(text=KV))
    texts = " ".join(q.text for q in queries).lower()
    assert queries[0].origin == "question" and "kv-cache" in queries[0].text.lower()
    assert "decoding throughput" in texts and "caching techniques" in texts
    assert not any(word in texts for word in ("expert explosion", "llama", "h100", "llada"))
    assert [q.text for q in queries] == [q.text for q in expand_queries(QuestionSettings(text=KV))]  # deterministic
    assert len({q.text for q in queries}) == len(queries)


def test_corpus_gives_synonyms_and_feedback():
    table = acronym_definitions(CORPUS)
    assert table["moe"] == "mixture-of-experts" and table["kv"] == "key-value"
    syn = synonym_queries("What limits MoE inference on one GPU?", CORPUS)
    assert syn and "mixture-of-experts" in syn[0].text.lower()
    fb = feedback_query(KV, CORPUS)
    assert fb and fb[0].origin == "feedback" and len(fb[0].text.split()) > 2
    full = expand_queries(QuestionSettings(text=KV), corpus_texts=CORPUS)
    assert {"feedback"} <= {q.origin for q in full}


def test_structured_block_only_adds(tmp_path):
    from flows.config import load_settings

    flagship = load_settings([])[0].question
    plain = QuestionSettings(text=flagship.text)
    with_block, without = expand_queries(flagship), expand_queries(plain)
    own = [q.text for q in with_block if not q.origin.startswith("structured")]
    assert own and own == [q.text for q in without][: len(own)]  # the block adds; the text's own queries lead
    assert any(q.origin.startswith("structured") for q in with_block)
    assert len(expand_queries(flagship, max_queries=4)) == 4


def test_versioned_names_match_titles_but_field_words_do_not():
    keys = name_keys(["Llama-2-70B", "H100-class", "GPU", "MoE", "LLaDA2.0-mini"])
    assert keys == ["llama2", "h100", "llada2"]
    assert named_in_title("Llama 2: Open Foundation and Fine-Tuned Chat Models", keys) == ["llama2"]
    assert named_in_title("Mixtral of Experts", keys) == []


def test_llm_expansion_only_adds_and_degrades_on_bad_output():
    from langchain_core.messages import AIMessage

    from tasks.retrieval.llm_expand import llm_queries
    from tasks.retrieval.pipeline import two_round_queries
    from tests.llm.fakes import fake_model, tool_message

    model = fake_model(tool_message("ExpandedQueries", {"queries": ["block diffusion KV cache reuse", "  ", "dKV-Cache delayed caching"]}))
    extra = llm_queries(KV, model)
    assert [q.text for q in extra] == ["block diffusion KV cache reuse", "dKV-Cache delayed caching"]
    assert all(q.origin == "llm" for q in extra)
    assert llm_queries(KV, fake_model(AIMessage(content="no"), AIMessage(content="{bad"))) == []
    seen = []
    queries, _ = two_round_queries(QuestionSettings(text=KV), 6, lambda qs: seen.extend(qs) or {q.text: [] for q in qs}, extra)
    own = [q for q in queries if q.origin != "llm"]
    assert own == [q for q in expand_queries(QuestionSettings(text=KV), 6)] and queries[-2:] == extra
