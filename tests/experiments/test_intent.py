"""A typed question that names an MoE diffusion model, N and a dense baseline gets their sweep; others stay literature."""

from __future__ import annotations

import pytest

from flows.intent import catalogue, experiment_overrides
from tasks.experiments.intent import asked_tokens, plan_experiment


@pytest.mark.parametrize("text, tokens", [("at 32 vs 64 tokens decoded in parallel", [32, 64]), ("N=16 and 128", [16, 128]),
                                          ("decoding 128 tokens at once", [128]), ("a 7B model on 2 GPUs", [])])
def test_the_asked_parallel_tokens_are_read(text, tokens):
    assert asked_tokens(text) == tokens


def test_a_question_naming_an_moe_diffusion_model_n_and_a_baseline_gets_its_sweep():
    models, gpus = catalogue()
    plan = plan_experiment("How do unique experts of LLaDA-MoE-7B grow at 32 vs 64 parallel tokens on an H200, "
                           "against Llama-2-7B?", models, gpus)
    assert plan is not None and [m.key for m in plan.models] == ["llada_moe_7b"]
    assert plan.baseline.key == "llama2_7b" and plan.tokens == [32, 64] and plan.hardware == "h200"


@pytest.mark.parametrize("text", [
    "What limits MoE inference on one GPU, and how do offloading systems compare?",          # no model, no N
    "How does LLaDA2.0-mini scale from 64 to 128 parallel tokens?",                          # no baseline
    "How many experts does Mixtral-8x7B read at 16 vs 64 tokens against Llama-2-70B?",       # autoregressive MoE
])
def test_other_questions_stay_literature_reviews(text):
    models, gpus = catalogue()
    assert plan_experiment(text, models, gpus) is None


def test_the_overrides_compose_and_the_users_own_choice_wins():
    from flows.config import load_settings

    text = "How do LLaDA2.0-mini's experts grow at 32 vs 64 parallel tokens against Llama-2-70B on an H200?"
    raw = [f"question.text={text}", "retrieval=snapshot"]
    from flows.config import normalise_question_override

    argv, plan = experiment_overrides(raw, normalise_question_override(raw))
    assert plan is not None and "+sweep=tokens" in argv
    settings, _ = load_settings(argv)
    assert settings.sweep is not None and settings.question.structured.parallel_tokens == [32, 64]
    assert settings.question.structured.baseline == "llama2_70b" and settings.hardware.name == "h200"
    for opt_out in (["run.auto_experiment=false"], ["+sweep=tokens", "sweep.models=[llada2_mini]"]):
        argv2, plan2 = experiment_overrides(raw + opt_out, normalise_question_override(raw + opt_out))
        assert plan2 is None and argv2.count("+sweep=tokens") <= 1


def test_the_users_hardware_choice_is_the_questions_target_too():
    """hardware=h200 typed with a question that names no GPU: the structured block targets the H200 as well."""
    from flows.config import load_settings, normalise_question_override

    raw = ["question.text=How do LLaDA2.0-mini's experts grow at 64 vs 128 parallel tokens against Llama-2-70B?",
           "hardware=h200", "retrieval=snapshot"]
    argv, plan = experiment_overrides(raw, normalise_question_override(raw))
    settings, _ = load_settings(argv)
    assert plan is not None and settings.hardware.name == "h200" and settings.question.structured.hardware == "h200"
    assert not any(a.startswith("sweep.tokens") for a in argv)  # 64 and 128 are already in conf/sweep/tokens.yaml
