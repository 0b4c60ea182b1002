"""The review command on a finished run: today's flagship run escalates naming its defects; an owner's edit is re-reviewed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tasks.tribunal.__main__ import main
from tasks.tribunal.review_run import ReviewInputError, review_run

SEED = Path(__file__).parent / "data" / "seed-report"
# The domain reviewer's findings on the pre-issue-12 report (ISSUE-12), by the kind the checks name them.
EXPERT_FINDINGS = {"provenance_mismatch", "step_vs_token", "infeasible_hardware", "no_validation", "no_sensitivity_band",
                   "no_conclusion", "self_supported_claim", "missing_citation"}


@pytest.fixture()
def run_dir(tmp_path) -> Path:
    return Path(shutil.copytree(SEED, tmp_path / "run"))


def test_todays_flagship_report_escalates_naming_the_defects(run_dir):
    result = review_run(run_dir)
    assert result.policy.decision == "ESCALATE_TO_OWNER"
    named = {f.split(": ")[1] for f in result.findings if f.count(": ") >= 2}
    assert EXPERT_FINDINGS <= named, EXPERT_FINDINGS - named
    critical = [r for r in result.policy.reasons if r.startswith("critical")]
    assert any("provenance_mismatch" in r for r in critical) and any("infeasible_hardware" in r for r in critical)
    assert (run_dir / "report" / "review.json").is_file() and (run_dir / "report" / "review.md").is_file()
    saved = json.loads((run_dir / "report" / "review.json").read_text())
    assert saved["policy"]["decision"] == "ESCALATE_TO_OWNER" and {r["role"] for r in saved["rulings"]} == {"skeptic", "validator", "synthesizer"}
    assert "Policy: ESCALATE_TO_OWNER" in (run_dir / "report" / "review.md").read_text()


def test_an_owners_edit_is_reviewed_as_edited(run_dir):
    before = review_run(run_dir, write=False)
    report = run_dir / "report" / "report.md"
    text = report.read_text()
    edited = text.replace(" (×0.125 and ×0.135 for the MoE step)", "").replace("(calibrated routing, measured:NVIDIA H200)",
                                                                              "(calibrated routing)")
    report.write_text(edited)
    after = review_run(run_dir)
    assert after.report_sha256 != before.report_sha256
    assert any("for the MoE step" in f for f in before.findings) and not any("for the MoE step" in f for f in after.findings)
    assert sum("provenance_mismatch" in f for f in after.findings) < sum("provenance_mismatch" in f for f in before.findings)
    assert after.policy.decision == "ESCALATE_TO_OWNER"  # the rest of the defects remain


def test_cli_prints_scores_findings_and_policy(run_dir, capsys):
    assert main(["review", str(run_dir), "--no-write"]) == 0
    out = capsys.readouterr().out
    assert "skeptic" in out and "validator" in out and "Policy: ESCALATE_TO_OWNER" in out and "infeasible_hardware" in out
    assert not (run_dir / "report" / "review.json").exists()


def test_missing_inputs_name_the_fix(tmp_path, capsys):
    with pytest.raises(ReviewInputError, match="evidence bundle"):
        review_run(tmp_path)
    (tmp_path / "bundle.json").write_text("{not json")
    (tmp_path / "report.md").write_text("# r\n")
    with pytest.raises(ReviewInputError, match="not a valid evidence bundle"):
        review_run(tmp_path)
    assert main(["review", str(tmp_path / "nope")]) == 1
    assert "not a folder" in capsys.readouterr().err


def test_a_clean_literature_only_run_raises_no_false_alarm(tmp_path):
    run = Path(shutil.copytree(SEED.parent / "literature-run", tmp_path / "lit"))
    result = review_run(run, write=False)
    assert result.policy.decision == "ACCEPT", result.policy.reasons
    assert not [i.key for r in result.rulings for i in r.failed_critical]
    assert not [i for r in result.rulings for i in r.items if i.key in ("substance:feasible_hardware", "baseline_present")]
