"""The eval command on malformed labelled files: one clear line naming the line and the fix, never a traceback;
its temporary index folder is always removed."""

import json
import tempfile
from pathlib import Path

import pytest

from tasks.claims.evaluate import load_labelled, main
from tests.claims.conftest import TINY_PAPERS, write_snapshot

GOOD = json.dumps({"claim": "ToyMoE has 12B total parameters.", "label": "SUPPORTED", "evidence_ids": []})


@pytest.mark.parametrize("bad, expected", [
    ('{"claim": null, "label": "SUPPORTED"}', r":2: 'claim' is missing or null"),
    ('{"claim": {"text": "x"}, "label": "SUPPORTED"}', r":2: 'claim' is dict"),
    ('{"claim": "x", "label": "TRUE"}', r":2: label 'TRUE' is not one of"),
    ('["claim", "SUPPORTED"]', r":2: a JSON list, not an object"),
    ("{not json", r":2: not JSON"),
])
def test_bad_line_names_line_and_fix(tmp_path, bad, expected, capsys):
    path = tmp_path / "claims.jsonl"
    path.write_text(GOOD + "\n" + bad + "\n")
    with pytest.raises(ValueError, match=expected):
        load_labelled(path)
    assert main(["eval-claims", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    assert "each line is a JSON object" in err or "fix the label" in err


def test_empty_file_is_an_error(tmp_path, capsys):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n")
    assert main(["eval-claims", str(path)]) != 0
    assert "no labelled claims" in capsys.readouterr().err


def test_missing_file_is_an_error(tmp_path, capsys):
    assert main(["eval-claims", str(tmp_path / "nope.jsonl")]) != 0
    assert "no such file" in capsys.readouterr().err


def test_temporary_index_is_removed(tmp_path, minilm, capsys):
    snapshot = tmp_path / "snap.jsonl"
    write_snapshot(snapshot, TINY_PAPERS)
    labelled = tmp_path / "claims.jsonl"
    labelled.write_text(GOOD + "\n")
    before = set(Path(tempfile.gettempdir()).glob("claims-index-*"))
    assert main(["eval-claims", str(labelled), "--snapshot", str(snapshot), "--verifiers", "hybrid"]) == 0
    assert set(Path(tempfile.gettempdir()).glob("claims-index-*")) <= before
    out = capsys.readouterr().out
    assert "ablation" in out and "without numbers" in out


def test_several_files_print_each_files_accuracy_and_the_total(tmp_path, minilm, capsys):
    """The whole-set figures of SCORES.md come from one command: eval-claims FILE FILE ... prints a row per file."""
    snapshot = tmp_path / "snap.jsonl"
    write_snapshot(snapshot, TINY_PAPERS)
    files = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
    files[0].write_text(GOOD + "\n")
    files[1].write_text(GOOD + "\n" + GOOD + "\n")
    out_file = tmp_path / "verdicts.jsonl"
    assert main(["eval-claims", *map(str, files), "--snapshot", str(snapshot), "--verifiers", "tfidf",
                 "--no-ablation", "--out", str(out_file)]) == 0
    out = capsys.readouterr().out
    assert "accuracy per file" in out and "a.jsonl" in out and "b.jsonl" in out and "total" in out
    ids = [json.loads(line)["claim_id"] for line in out_file.read_text().splitlines()]
    assert ids == ["a-1", "b-1", "b-2"]  # ids tell the files apart
