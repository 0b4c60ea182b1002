"""Row 11: an empty question, an unusable snapshot or a boolean N each get their own error, before any run exists."""

from __future__ import annotations

import gzip
import json

import pytest

from flows.config import load_settings
from tasks.records import Query
from tasks.retrieval.snapshot import SnapshotError, search_snapshot
from tasks.settings import SettingsError
from tests.conftest import SNAPSHOT


def _refused(overrides: list[str]) -> str:
    with pytest.raises(SettingsError) as info:
        load_settings(overrides)
    return str(info.value)


def test_empty_question():
    assert "question.text is empty" in _refused(["question.text="])


def test_boolean_n_is_not_taken_as_one():
    assert "sweep.tokens" in _refused(["+sweep=tokens", "sweep.tokens=[true]"])


def test_directory_snapshot(tmp_path):
    assert "is a directory" in _refused(["retrieval=snapshot", f"retrieval.snapshot_path={tmp_path}"])


def test_empty_binary_gzip_snapshot(tmp_path):
    empty, binary, packed = tmp_path / "empty.jsonl", tmp_path / "bin.jsonl", tmp_path / "snap.jsonl.gz"
    empty.write_bytes(b"")
    binary.write_bytes(bytes(range(256)) * 8)
    packed.write_bytes(gzip.compress(SNAPSHOT.read_bytes()))
    for path, words in ((empty, "is empty"), (binary, "binary"), (packed, "gzip-compressed")):
        assert words in _refused(["retrieval=snapshot", f"retrieval.snapshot_path={path}"]), path


def test_snapshot_with_no_record_names_the_file(tmp_path):
    junk = tmp_path / "junk.jsonl"
    junk.write_text("not json\n" + json.dumps({"id": "x"}) + "\n")
    with pytest.raises(SnapshotError, match="holds no arXiv record"):
        search_snapshot(junk, [Query(text="mixture of experts", origin="test")])


def test_cli_refuses_before_a_run_exists(tmp_path, capsys):
    from flows.main import main

    store = tmp_path / "mlruns"
    rc = main(["retrieval=snapshot", f"retrieval.snapshot_path={tmp_path}", f"tracking.store_dir={store}"])
    said = capsys.readouterr()
    assert rc == 2 and "is a directory" in " ".join((said.out + said.err).split())
    assert not (store / "mlflow.db").exists()
