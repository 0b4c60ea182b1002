"""Round-14 mechanisms of issue 14, on papers and claims invented for these tests (no probe item is copied).

- A dataset named before a sentence's first number ("On XSum, X reaches a ROUGE-2 of 21.4 and a BLEU of 12.8") is the setting of every number the sentence lists, not of the first one only: a claim that restates the
  second number on that dataset is borne out; one that swaps the two numbers is still contradicted.
- A number tied to one name in the claim ("Corvid's 400B tokens", a possessive) and in the paper ("Corvid (400B
  tokens)", in brackets) is that name's number in both; a claim that gives it to the paper's own model is still
  contradicted. Spelled-out hundreds ("two hundred times") are numbers, and "2B fine-tuning tokens" counts tokens.
- What remains after a cut ("by 35%" leaves 65%) bears out a claim of what remains ("to about two thirds"), not a
  claim of the amount ("by more than half"); so a claim set where the paper reports nothing stays unsettled.
- "and" between two names ("the throughput of Alpha-7B and Beta-8B by 12.4x") joins the names, not two clauses: the
  number keeps the metric named before them.
- A claim that ranks its subject both ways ("beats A on most tasks, but trails A on maths") is read clause by
  clause: a clause that ranks it below a party the paper ranks it only above is contradicted.
- A quantity said to stay flat ("stays roughly flat", "remains constant") where the paper says it grows is
  contradicted (regime antonyms in the lexicon).
- "1B of its 7B parameters are used per token": what follows the whole ("are used per token") is said of the part;
  the whole's slot is only its noun.
- "Gantry-based MoEs", "a Gantry-style system" name Gantry.
"""

from tests.claims.conftest import papers_fixture
from tests.claims.conftest import rules_label as label

PAPERS = [
    ("2507.00411", "Wren: Few-Step Sampling for Text Diffusion",
     "Wren distils a masked diffusion language model into a four-step sampler. "
     "On XSum it reaches a ROUGE-2 of 21.4 and a BLEU of 12.8, and on CNN/DailyMail its summaries are on par with "
     "BART."),
    ("2507.00412", "Kestrel: Cheap Conversion of Autoregressive LMs to Diffusion",
     "Kestrel converts a pretrained autoregressive model into a diffusion LLM with about 2B tokens of fine-tuning, "
     "roughly 200x less data than diffusion LLMs trained from scratch such as Corvid (400B tokens)."),
    ("2507.00413", "Finch: Batch-Aware Expert Re-Routing",
     "Finch re-routes tokens to experts that are already loaded for other tokens of the batch. At batch size 8 it "
     "lowers MoE-layer decode latency by 35% without retraining."),
    ("2507.00414", "Heron: A Paged Cache for Diffusion LLMs",
     "Heron adds a paged approximate cache to diffusion language models. It needs no retraining and delivers up to "
     "12.4x higher throughput on Alpha-7B and Beta-8B with minimal accuracy loss."),
    ("2507.00415", "Lark-MoE: A Sparse Model for Reasoning",
     "Lark-MoE activates 9B of its 52B parameters per token. It outperforms Gamma-65B on every reported benchmark and "
     "is far stronger than Gamma-65B on theorem proving and program synthesis."),
    ("2507.00416", "Tern: Expert Reuse Across Denoising Steps",
     "Tern studies sparse diffusion language models that denoise many positions at once. The number of experts a "
     "step must load grows almost linearly with the number of positions denoised together, which makes each step "
     "memory-bound; Tern shares one expert set across the block."),
    ("2507.00417", "Auk: An Open Fine-Grained MoE",
     "Auk-2B-9B holds about 9B parameters but uses roughly 2B per input token, with 48 experts per layer."),
    ("2507.00418", "Skua: Block-Sparse Expert Kernels",
     "Skua trains MoEs up to 35% faster than MoEs trained with the Gantry library and 1.9x faster than dense "
     "networks trained with Pylon."),
]


retrieve = papers_fixture(PAPERS)


def test_lead_in_dataset_sets_every_listed_number(retrieve):
    assert label("Wren attains a BLEU of 12.8 on XSum, with a ROUGE-2 of about 21.", retrieve) == "SUPPORTED"


def test_swapped_listed_numbers_still_contradicted(retrieve):
    assert label("Wren attains a BLEU of 21.4 on XSum.", retrieve) == "CONTRADICTED"


def test_possessive_number_is_its_owner_s(retrieve):
    assert label("Kestrel needs only some 2B fine-tuning tokens, about two hundred times less than Corvid's 400B "
                 "tokens.", retrieve) == "SUPPORTED"


def test_owner_s_number_given_to_the_subject_is_not_supported(retrieve):
    assert label("Kestrel is fine-tuned on about 400B tokens.", retrieve) == "CONTRADICTED"


def test_remainder_is_not_the_amount_of_a_cut(retrieve):
    assert label("At batch size 8, Finch cuts MoE-layer decode latency by more than half.", retrieve) == "CONTRADICTED"
    assert label("At batch size 8, Finch cuts MoE-layer decode latency to about two thirds of its former value.",
                 retrieve) == "SUPPORTED"
    assert label("At batch size 8, Finch cuts MoE-layer decode latency by about a third.", retrieve) == "SUPPORTED"


def test_unreported_setting_with_unreported_result_stays_unsettled(retrieve):
    assert label("At batch size 32, Finch cuts MoE-layer decode latency by more than half.",
                 retrieve) == "NOT_ENOUGH_INFO"


def test_and_between_names_keeps_the_metric(retrieve):
    assert label("Without retraining, Heron raises the throughput of Alpha-7B and Beta-8B by as much as 12.4 times "
                 "through a paged approximate KV cache.", retrieve) == "SUPPORTED"


def test_clause_ranking_the_other_way_is_contradicted(retrieve):
    assert label("Lark-MoE outperforms Gamma-65B on most reported benchmarks, but it trails Gamma-65B on theorem "
                 "proving and program synthesis.", retrieve) == "CONTRADICTED"
    assert label("Lark-MoE outperforms Gamma-65B on every reported benchmark, and it is far stronger than Gamma-65B on "
                 "theorem proving.", retrieve) != "CONTRADICTED"


def test_flat_where_the_paper_says_grows_is_contradicted(retrieve):
    assert label("The Tern paper finds that the number of experts a step must load stays roughly flat as more positions "
                 "are denoised together.", retrieve) == "CONTRADICTED"
    assert label("The Tern paper finds that the number of experts a step must load grows almost linearly with the "
                 "number of positions denoised together.", retrieve) == "SUPPORTED"


def test_what_follows_the_whole_is_said_of_the_part(retrieve):
    assert label("Auk-2B-9B routes tokens to fine-grained experts, so only about 2B of its roughly 9B parameters are "
                 "used for any input token.", retrieve) == "SUPPORTED"
    assert label("Auk-2B-9B uses roughly 9B of its parameters for each input token.", retrieve) != "SUPPORTED"


def test_a_described_name_is_the_name(retrieve):
    assert label("Skua trains up to 35% faster than Gantry-based MoEs.", retrieve) == "SUPPORTED"
    assert label("Skua trains up to 35% faster than Pylon-based dense networks.", retrieve) == "CONTRADICTED"
