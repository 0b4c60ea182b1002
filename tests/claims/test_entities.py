from tasks.claims.context import analyse_sentence
from tasks.claims.entities import extract_entities, names_match


def kinds(text):
    return [(e.kind, e.name) for e in extract_entities(text)]


def test_models_hardware_datasets_and_baselines():
    ents = kinds("dInfer exceeds 1,100 tokens per second on HumanEval with LLaDA-MoE on 8x NVIDIA H800 GPUs, "
                 "faster than Fast-dLLM.")
    assert ("model", "dInfer") in ents and ("model", "LLaDA-MoE") in ents
    assert ("dataset", "HumanEval") in ents and ("baseline", "Fast-dLLM") in ents
    hw = [e for e in extract_entities("on 8x NVIDIA H800 GPUs") if e.kind == "hardware"][0]
    assert (hw.name, hw.value) == ("H800", 8.0)
    hw = [e for e in extract_entities("measured on a single NVIDIA A100 80GB GPU") if e.kind == "hardware"][0]
    assert (hw.name, hw.value, hw.unit) == ("A100", 1.0, "80GB")


def test_sentence_opening_verbs_and_field_words_are_not_names():
    assert kinds("Presents a Mixture-of-Experts (MoE) model for LLMs on GPUs.") == []


def test_name_matching_is_version_sensitive():
    assert names_match("Mixtral", "Mixtral 8x7B") and names_match("Llama 2 70B", "Llama-2-70B")
    assert names_match("Dynamic Expert Sharing", "DES")
    assert not names_match("DeepSeek-V2", "DeepSeek-V3")
    assert not names_match("LLaDA", "LLaDA-MoE") and not names_match("Qwen3-30B", "Qwen3-235B")


def test_numbers_are_tied_to_their_entity():
    facts = analyse_sentence("SparseServe accelerates decoding by 1.99x for Mixtral 8x7B and by 5.86x for Llama-2-70B.")
    owners = {facts.numbers[i].text: name for i, name in facts.owners.items()}
    assert owners == {"1.99x": "Mixtral 8x7B", "5.86x": "Llama-2-70B"}
    kept = [q.text for q in facts.numbers_for(["Mixtral"])]
    assert kept == ["1.99x"]
    resp = analyse_sentence("On Qwen3-30B and Qwen3-235B, latency drops by 39% and 15% respectively.")
    assert {resp.numbers[i].text: n for i, n in resp.owners.items()} == {"39%": "Qwen3-30B", "15%": "Qwen3-235B"}
