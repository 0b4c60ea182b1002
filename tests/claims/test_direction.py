from tasks.claims.context import analyse_sentence


def _directions(text):
    return [(q.text, q.direction) for q in analyse_sentence(text).numbers]


def test_a_cost_or_loss_is_a_decrease():
    assert _directions("It doubles throughput, at a cost of only 0.3% accuracy.")[-1] == ("0.3%", "down")
    assert _directions("raises throughput by 40% with under 0.5% accuracy loss")[-1] == ("0.5%", "down")
    assert _directions("with a 0.3% accuracy drop")[-1] == ("0.3%", "down")


def test_change_noun_after_the_number_decides():
    assert _directions("a 38% reduction in latency and a 2x speedup") == [("38%", "down"), ("2x", "up")]
    assert _directions("reduces latency by 38%") == [("38%", "down")]
    assert _directions("increases cost by 20%") == [("20%", "up")]


def test_lower_bound_needs_the_same_metric_in_its_slot():
    from tasks.claims.slots import same_slot_metric as _same_slot_metric

    cf = analyse_sentence("Token pruning raises throughput by more than 40% in exchange for a 31% FLOP reduction.")
    ef = analyse_sentence("Pruning 66% of the input tokens reduces FLOPs by 31% and raises throughput by more than 40%.")
    claim = cf.numbers[0]
    assert not _same_slot_metric(cf, claim, ef, ef.numbers[0])  # 66% of tokens is no throughput figure
    assert _same_slot_metric(cf, claim, ef, ef.numbers[2])


def test_evaluation_metrics_are_not_models_and_titles_give_initials():
    from tasks.claims.entities import title_subject

    facts = analyse_sentence("It reaches an FID of 3.17 and an Inception score of 9.46 with lower MSE and MAE.")
    assert facts.models == []
    assert "DDPM" in title_subject("Denoising Diffusion Probabilistic Models")


def test_named_metrics_are_exclusive_slots():
    from tasks.claims.slots import slot_qualifiers as _slot_qualifiers

    ev = analyse_sentence("It lowers MSE by 10.4% and MAE by 7.8%.")
    assert _slot_qualifiers(ev, ev.numbers[0])["measure"] == ["mse"]
    assert _slot_qualifiers(ev, ev.numbers[1])["measure"] == ["mae"]


def test_speeds_up_and_bare_gains_name_what_they_measure():
    from tasks.claims.context import metrics_overlap

    q = analyse_sentence("It speeds up inference by about 1.2x.").numbers[0]
    assert "speed" in q.metrics and q.direction == "up"
    a = analyse_sentence("It beats prior methods by 47% on average.").numbers[0]
    b = analyse_sentence("It has an average improvement of 64.9%.").numbers[0]
    c = analyse_sentence("It improves throughput by 64.9%.").numbers[0]
    assert metrics_overlap(a, b, strict=True)  # both a bare gain over baselines
    assert not metrics_overlap(c, analyse_sentence("It improves accuracy by 5%.").numbers[0], strict=True)


def test_other_setup_is_hardware_other_than_the_claimed():
    from tasks.claims.entities import hardware_mentions
    from tasks.claims.align import Sentence
    from tasks.claims.rivals import other_setup
    from tasks.records import Chunk, ChunkHit

    def _other_setup(facts, claimed):
        chunk = Chunk(chunk_id="p#0", arxiv_id="p", title="t", text=facts.text, start=0, end=len(facts.text))
        return other_setup(Sentence(ChunkHit(chunk=chunk, score=1.0), facts), claimed)

    t4 = hardware_mentions("on a T4")
    assert _other_setup(analyse_sentence("It runs at 3 tokens per second on a single GPU with 24 GB."), t4)
    assert _other_setup(analyse_sentence("It runs at 3 tokens per second on an A100."), t4)
    assert not _other_setup(analyse_sentence("It runs at 3 tokens per second on a T4 GPU."), t4)
    assert not _other_setup(analyse_sentence("It runs at 3 tokens per second."), t4)


def test_comparison_phrases_mark_baselines_and_version_swaps():
    from tasks.claims.check_attribution import same_family_other_version as _same_family_other_version

    facts = analyse_sentence("The 8B model of LLaDA is competitive with LLaMA3 8B at in-context learning.")
    assert [e.name for e in facts.baselines] == ["LLaMA3 8B"]
    assert _same_family_other_version("LLaMA2 7B", "LLaMA3 8B")
    assert not _same_family_other_version("LLaMA3 8B", "LLaMA3-8B")
    assert not _same_family_other_version("Mixtral", "Mixtral 8x7B")


def test_polarity_and_architecture_clashes():
    from tasks.claims.check_attribution import architectures
    from tasks.claims.check_direction import evaluative_polarity
    from tasks.claims.slots import plain

    def _polarity_clash(c, e):
        cw, ew = evaluative_polarity(plain(c)), evaluative_polarity(plain(e))
        return any(ew.get(k, w) != w for k, w in cw.items())

    def _architecture_clash(c, e):
        a, b = architectures(plain(c)), architectures(plain(e))
        return bool(a and b and not a & b)

    claim = analyse_sentence("It is up to 4.8x faster but at the price of somewhat worse generation quality.")
    ev = analyse_sentence("It gives speedups of up to 4.8x and consistently improves generation quality.")
    assert _polarity_clash(claim, ev)
    assert not _polarity_clash(ev, analyse_sentence("It is 4.8x faster with better generation quality."))
    layers = analyse_sentence("The layers were inserted between stacked Transformer layers.")
    assert _architecture_clash(layers, analyse_sentence("Applied between stacked LSTM layers."))
    assert not _architecture_clash(layers, analyse_sentence("Applied between Transformer blocks."))


def test_pronoun_sentences_inherit_the_system_named_before():
    from tasks.claims.align import read_sentences as _sentences
    from tasks.records import Chunk, ChunkHit

    text = ("Brings sparse experts to vision with V-MoE, a sparse vision model. "
            "For image recognition it matches dense networks with half of the compute.")
    chunk = Chunk(chunk_id="p#0", arxiv_id="p", title="Scaling vision with sparse experts", text=text,
                  start=0, end=len(text))
    sentences = _sentences([ChunkHit(chunk=chunk, score=1.0)])
    assert sentences[1].facts.mentions(["V-MoE"])


def test_architecture_head_noun_names_the_same_thing():
    from tasks.claims.entities import names_match

    assert names_match("Hopper", "Hopper Architecture")
    assert not names_match("Hopper", "Ampere Architecture")


def test_an_overturned_explanation():
    from tasks.claims.check_direction import overturned as _overturned

    text = "a plateau usually attributed to a compute-bound regime. the analysis instead shows it stays memory-bound."
    assert _overturned(text, "compute-bound", "memory-bound")
    assert not _overturned("it is compute-bound, but not memory-bound.", "compute-bound", "memory-bound")
    assert not _overturned("it is compute-bound and then memory-bound.", "compute-bound", "memory-bound")
