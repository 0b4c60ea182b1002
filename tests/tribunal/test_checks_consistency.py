"""The consistency checks: results-table cells and the setup GPU, kept sections and uncertainties, published figures
credited to their paper, memory and bandwidth units. Edits are this file's own, not a defect probe's."""

from __future__ import annotations

from checkhelp import kinds, run, substantive

from tasks.tribunal.bundle import GpuProvenance, Uncertainty


def sweep_table(b, edit: float = 1.0) -> str:
    rows = [r for r in b.sweep if r.model == "llada2_mini" and r.n_tokens in (64, 128)]
    body = "\n".join(f"| {r.model} | {r.routing} | {r.n_tokens} | {r.hardware} | {r.unique_experts_mean:.4g} | "
                     f"{r.step_ms * (edit if i == 0 else 1):.4g} | `{r.run_id[:8]}` |" for i, r in enumerate(rows))
    return ("# R\n\n## Results\n\n| model | routing | N | hardware | unique experts (mean) | step ms | run |\n"
            "|---|---|---|---|---|---|---|\n" + body + "\n")


def test_results_table_cells_equal_to_the_run_pass():
    b = substantive()
    assert run("sweep_tables_match", b, sweep_table(b)).passed


def test_an_edited_step_time_cell_is_flagged():
    b = substantive()
    assert "table_mismatch" in kinds(run("sweep_tables_match", b, sweep_table(b, edit=0.7)))


def test_the_setup_table_names_the_measured_gpu():
    b = substantive().model_copy(update={"gpu_provenance": GpuProvenance(gpu="NVIDIA H200")})
    setup = "## Methodology\n\n| GPU | driver | torch |\n|---|---|---|\n| {} | 580 | 2.11 |\n"
    assert run("sweep_tables_match", b, sweep_table(b) + setup.format("NVIDIA H200")).passed
    assert "table_mismatch" in kinds(run("sweep_tables_match", b, sweep_table(b) + setup.format("NVIDIA A100 80GB")))


def test_a_deleted_limitations_section_and_a_dropped_uncertainty_are_flagged():
    b = substantive().model_copy(update={"uncertainties": [
        Uncertainty(topic="synthetic_routing", text="expert routing is modelled (calibrated), not replayed from real traces")]})
    kept = ("# R\n\n## Abstract\n\nx.\n\n## Results\n\ny.\n\n## Limitations\n\n- z.\n\n## Conclusion\n\nw.\n\n"
            "## Uncertainties\n\n- Routing is modelled (calibrated) and not replayed from real traces.\n")
    assert run("sections_complete", b, kept).passed
    no_limits = kept.replace("## Limitations\n\n- z.\n\n", "")
    assert "missing_section" in kinds(run("sections_complete", b, no_limits))
    dropped = kept.replace("- Routing is modelled (calibrated) and not replayed from real traces.", "- Batch size 1 only.")
    assert "uncertainty_dropped" in kinds(run("sections_complete", b, dropped))


def test_a_published_figure_credited_to_the_wrong_paper_is_flagged():
    b = substantive()
    t = next(t for t in b.token_latency if t.model == "llada2_mini")
    right = f"## Discussion\n\nA step commits {t.tokens_per_step:g} tokens [published: LLaDA2.0, arXiv 2512.15745].\n"
    assert run("published_attribution", b, "# R\n\n" + right).passed
    wrong = right.replace("LLaDA2.0, arXiv 2512.15745", "dInfer, arXiv 2510.08666")
    assert "misattributed" in kinds(run("published_attribution", b, "# R\n\n" + wrong))


def test_a_gb_figure_relabelled_gib_and_a_datasheet_bandwidth_in_gb_s_are_unit_errors():
    b = substantive()
    mem = "# R\n\n## Abstract\n\nLLaDA2.0-mini needs 32 {} of weights [modelled: weights].\n"
    assert "unit_mismatch" not in kinds(run("physical_bounds", b, mem.format("GB")))
    assert "unit_mismatch" in kinds(run("physical_bounds", b, mem.format("GiB")))
    bw = "# R\n\n## Discussion\n\nThe H100 SXM streams {} [published: H100 SXM datasheet].\n"
    assert "unit_mismatch" not in kinds(run("physical_bounds", b, bw.format("3.35 TB/s")))
    assert "unit_mismatch" in kinds(run("physical_bounds", b, bw.format("3.35 GB/s")))


def _finding(pid: str, quote: str) -> str:
    return f"# R\n\n## Results\n\n- [{pid}](https://arxiv.org/abs/{pid}): \"{quote}\" — its own paper only\n"


def test_a_quote_is_checked_against_the_paper_it_is_credited_to():
    b = substantive()
    quote = "We study expert activation in diffusion LLMs, paper 3."
    assert run("quotes_faithful", b, _finding("2501.00003", quote)).passed
    assert run("quotes_faithful", b, _finding("2501.00003", quote[:40])).passed  # cut short is still the paper's words
    assert "misattributed" in kinds(run("quotes_faithful", b, _finding("2501.00005", quote)))
    changed = quote.replace("diffusion LLMs", "autoregressive LLMs")
    assert "misquoted" in kinds(run("quotes_faithful", b, _finding("2501.00003", changed)))


def test_the_bound_the_prose_names_must_be_the_runs():
    b = substantive()  # every roofline row is memory-bound
    ok = "# R\n\n## Discussion\n\nThe MoE step is memory-bound, and the dense baseline is limited by memory bandwidth too.\n"
    assert run("regime_consistent", b, ok).passed
    bad = "# R\n\n## Discussion\n\nAt N=128 the step becomes compute-bound, so more experts cost little.\n"
    assert "regime_contradicts_results" in kinds(run("regime_consistent", b, bad))
    negated = "# R\n\n## Discussion\n\nEven at N=128 the step is not compute-bound.\n"
    assert run("regime_consistent", b, negated).passed


def test_a_memory_figure_traces_only_to_memory_values():
    b = substantive()  # LLaDA2.0-mini needs 32 GB; 45.9 is an expert count, not a size
    ok = "# R\n\n## Abstract\n\nLLaDA2.0-mini needs 32 GB [modelled: weights] and fits on one.\n"
    assert run("numbers_traced", b, ok).passed
    bad = "# R\n\n## Abstract\n\nLLaDA2.0-mini needs 45.94 GB [modelled: weights] and fits on one.\n"
    assert "untraced_number" in kinds(run("numbers_traced", b, bad))


def test_a_validation_row_credited_to_another_paper_is_misattributed():
    b = substantive()
    v = next(v for v in b.validation if not v.used_for_fit)
    row = ("# R\n\n## Results\n\n### Validation of the routing model\n\n| model | block B | published | modelled | error | "
           "citation |\n|---|---|---|---|---|---|\n| {m} | {n} | {p:g} | {mo:g} | {e:g}% | {c} |\n")
    fill = dict(m=v.model, n=v.n_tokens, p=v.published, mo=v.modelled, e=v.error_pct)
    assert "misattributed" not in kinds(run("tables_match_bundle", b, row.format(c=v.citation, **fill)))
    assert "misattributed" in kinds(run("tables_match_bundle", b, row.format(c="Fast-dLLM, arXiv 2505.22618", **fill)))


def test_the_quoted_question_is_the_runs_question():
    b = substantive()
    intro = "# R\n\n## Introduction\n\n> {}\n\nWe answer it below.\n"
    assert "question_changed" not in kinds(run("sections_complete", b, intro.format(b.question.text)))
    changed = b.question.text.replace("H100", "B200") if "H100" in b.question.text else b.question.text + " On B200?"
    assert "question_changed" in kinds(run("sections_complete", b, intro.format(changed)))


def test_more_distinct_experts_than_the_layer_has_is_impossible():
    b = substantive()
    text = "# R\n\n## Discussion\n\nWith top-4 routing over 32 experts, 64 tokens can touch up to 128 distinct experts.\n"
    assert "impossible_value" in kinds(run("physical_bounds", b, text))
    fine = "# R\n\n## Discussion\n\nWith top-4 routing over 32 experts, 64 tokens touch at most 32 distinct experts.\n"
    assert "impossible_value" not in kinds(run("physical_bounds", b, fine))


def test_a_discussion_number_tagged_with_the_wrong_class_is_flagged():
    b = substantive()
    t = next(t for t in b.token_latency if t.model == "llada2_mini")
    text = f"# R\n\n## Discussion\n\nA step costs {t.per_token_ms:.4g} ms per token [measured: NVIDIA H200].\n"
    assert "provenance_mismatch" in kinds(run("provenance_labels", b, text))


def test_statements_about_the_runs_models_follow_its_records():
    b = substantive()  # llama2_70b has modelled rows only; the validation rows are llada2_mini's
    rf = "run_facts"
    assert "run_fact_wrong" in kinds(run(rf, b, "# R\n\n## Discussion\n\nLlama-2-70B was measured on the same GPU.\n"))
    assert run(rf, b, "# R\n\n## Discussion\n\nLlama-2-70B was not measured; its time is a roofline estimate.\n").passed
    assert "run_fact_wrong" in kinds(run(rf, b, "# R\n\n## Results\n\nThe router was calibrated on LLaDA-MoE-7B-A1B's "
                                                "traces and LLaDA-MoE-7B-A1B validates it.\n"))
    assert "run_fact_wrong" in kinds(run(rf, b, "# R\n\n## Introduction\n\nLLaDA2.0-mini (30 layers, top-2 of 64 experts) "
                                                "is the main model.\n"))
    assert run(rf, b, "# R\n\n## Introduction\n\nLLaDA2.0-mini routes each token to the top-8 of 256 experts.\n").passed
    assert "run_fact_wrong" in kinds(run(rf, b, "# R\n\n## Abstract\n\nLlama-2-70B needs 138 GB and fits on one H100.\n"))


def test_validation_said_to_reach_beyond_its_blocks_is_overstated():
    b = substantive()
    top = max(v.n_tokens for v in b.validation)
    text = f"# R\n\n## Limitations\n\n- The router is validated against published counts up to block {4 * top}.\n"
    assert "validation_overstated" in kinds(run("tables_match_bundle", b, text))
    ok = f"# R\n\n## Limitations\n\n- The router is validated only up to block {top}; larger N extrapolate.\n"
    assert "validation_overstated" not in kinds(run("tables_match_bundle", b, ok))


def test_a_papers_own_unit_inside_a_quotation_is_not_a_unit_error():
    b = substantive()  # LLaDA2.0-mini's weights are 32 GB in the run; a paper may quote 32 GiB of something else
    text = '# R\n\n## Results\n\n- [2501.00001](https://arxiv.org/abs/2501.00001): "Our system fits in 32 GiB of memory."\n'
    assert "unit_mismatch" not in kinds(run("physical_bounds", b, text))
