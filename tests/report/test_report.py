"""The report: every section, self-contained HTML, numbers that match the bundle and the MLflow metrics they cite."""

from __future__ import annotations

import re

import bundles as B
import pytest
from rich.console import Console

from tasks.report.render import SECTIONS, render_markdown, write_report_files
from tasks.tribunal.engine import review_rounds, sequential_review
from tasks.tribunal.settings import TribunalSettings

S = TribunalSettings()


def table_after(md: str, heading: str) -> list[dict[str, str]]:
    """Parse the first Markdown table after ``heading`` into dicts keyed by the header."""
    lines = md[md.index(heading):].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    header = [c.strip() for c in lines[start].strip("|").split("|")]
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append(dict(zip(header, [c.strip() for c in line.strip("|").split("|")])))
    return rows


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    bundle = B.measured_bundle(spread=0.12)
    outcome = review_rounds(bundle, S, sequential_review(S))
    return outcome, write_report_files(outcome.bundle, outcome, tmp_path_factory.mktemp("report"))


def test_every_section_banner_and_reference(written):
    outcome, files = written
    md = files["markdown"].read_text()
    assert md.startswith("# ") and "**Autonomous draft — owner review required**" in md
    positions = [md.index(f"\n## {name}\n") for name in SECTIONS]
    assert positions == sorted(positions)
    assert outcome.answer in md  # the abstract answers the question
    assert "https://arxiv.org/abs/2501.00003" in md
    for needle in ("local arXiv snapshot", "all-MiniLM-L6-v2", "hybrid", "NVIDIA H200", "`abc123`", "Policy: "):
        assert needle in md, needle
    assert f"**Policy: {outcome.policy.decision}**" in md


def test_html_is_self_contained_with_three_figures(written):
    _, files = written
    page = files["html"].read_text()
    assert page.count("data:image/png;base64,") == 3
    assert 'src="figures/' not in page
    assert "<h2>Tribunal</h2>" in page and "<table>" in page
    assert "Autonomous draft — owner review required" in page


def test_question_table_numbers_match_the_bundle(written):
    outcome, files = written
    rows = table_after(files["markdown"].read_text(), "### The question's numbers")
    assert len(rows) >= 6
    for row in rows:
        match = [r for r in outcome.bundle.rows(row["model"], int(row["N"]))
                 if r.hardware == row["hardware"] and r.step_provenance.tag() == row["step time class"]]
        assert len(match) == 1, row
        assert float(row["step ms"]) == pytest.approx(match[0].step_ms, rel=1e-3)
        if row["unique experts (mean)"] != "-":
            assert float(row["unique experts (mean)"]) == pytest.approx(match[0].unique_experts_mean, rel=1e-3)
        assert row["run"].strip("`") == match[0].run_id[:8]


def test_tribunal_table_matches_outcome(written):
    outcome, files = written
    rows = table_after(files["markdown"].read_text(), "## Tribunal")
    assert [int(r["round"]) for r in rows] == [rd.round for rd in outcome.rounds]
    for row, rd in zip(rows, outcome.rounds):
        assert float(row["aggregate"]) == pytest.approx(rd.aggregate, abs=5e-3)
        assert float(row["skeptic"]) == pytest.approx(rd.score("skeptic"), abs=5e-3)


def test_untrusted_text_is_escaped_in_html(tmp_path):
    b = B.bundle(papers=[B.paper(0, abstract="x")], claims=[])
    evil = B.paper(9).model_copy(update={"title": "<script>alert(1)</script> | pipes"})
    b = b.model_copy(update={"papers": [evil]})
    outcome = review_rounds(b, S, sequential_review(S))
    files = write_report_files(outcome.bundle, outcome, tmp_path)
    page = files["html"].read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_empty_sweep_still_renders_every_section():
    b = B.bundle(sweep=[], growth=[], claims=[])
    outcome = review_rounds(b, S, sequential_review(S))
    md = render_markdown(outcome.bundle, outcome)
    assert all(f"## {name}" in md for name in SECTIONS)
    assert outcome.policy.decision == "ESCALATE_TO_OWNER"


def test_print_summary_shows_answer_score_policy_path(written, tmp_path):
    from flows.report import print_summary

    outcome, files = written
    console = Console(record=True, width=200)
    print_summary(outcome, files["html"], console=console)
    text = console.export_text()
    assert outcome.policy.decision in text and str(files["html"].resolve()) in text
    assert f"{outcome.final.aggregate:.2f}" in text and re.sub(r"\s+", " ", outcome.answer)[:60] in re.sub(r"\s+", " ", text)
