"""Claims that belong to the question: a claim measuring what the question asks about outranks one that does not."""

from tasks.claims.extract import claim_from_text, facet_adjustment, rank_by_question

QUESTION = "How much does speculative decoding cut inference latency for large language models on GPUs?"
ON = ["Speculative decoding lowers per-token decoding latency by 2.1x on A100 GPUs for a 13B model.",
      "The draft model raises decoding throughput by 3x while the output distribution is unchanged.",
      "Verification of eight drafted tokens takes about as long as one forward pass of the target model at inference."]
OFF = ["The model was pretrained on 2 trillion tokens of curated web data.",
       "It beats larger open models on most reported benchmarks and in human evaluations.",
       "Fine-tuning with SFT and DPO improves instruction following."]


def _claims(texts):
    return [claim_from_text(t, claim_id=f"c{i}", source_id=f"2401.0000{i}") for i, t in enumerate(texts)]


def test_facets_reward_asked_quantities_and_penalise_other_phases():
    claims = _claims(ON + OFF)
    adj = facet_adjustment(claims, QUESTION)
    assert adj[0] > 0 and adj[1] > 0 and adj[2] >= 0  # the third measures nothing by name: neutral
    assert all(adj[len(ON) + i] < 0 for i in range(len(OFF)))


def test_a_question_without_facets_shifts_nothing():
    claims = _claims(ON + OFF)
    assert not facet_adjustment(claims, "Which research groups published on sparse language models in 2024?").any()


def test_off_topic_claims_rank_below_on_topic_ones():
    kept, dropped = rank_by_question(_claims(OFF + ON), QUESTION)
    ranked = [c.text for c in kept + dropped]
    assert max(ranked.index(t) for t in ON) < min(ranked.index(t) for t in OFF)
