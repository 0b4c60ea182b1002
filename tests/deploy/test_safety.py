"""Path confinement and disk-full handling: a clear error and nothing half-written left as complete."""

from __future__ import annotations

import errno
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from flows.safety import DiskFullError, PathEscapeError, atomic_dir, atomic_write, confine, disk_full_guard, is_complete


def test_confine_accepts_paths_inside_the_output_dir(tmp_path):
    assert confine("papers.jsonl", tmp_path) == tmp_path.resolve() / "papers.jsonl"
    assert confine(tmp_path / "sweep" / "a.csv", tmp_path) == tmp_path.resolve() / "sweep" / "a.csv"
    assert confine("sweep/../report.md", tmp_path) == tmp_path.resolve() / "report.md"
    assert confine(".", tmp_path) == tmp_path.resolve()


@pytest.mark.parametrize("escape", ["../outside.txt", "/etc/passwd", "a/../../x", "~/.ssh/authorized_keys"])
def test_confine_refuses_escapes_and_names_the_key(tmp_path, escape):
    root = tmp_path / "run"
    root.mkdir()
    with pytest.raises(PathEscapeError, match=r"report\.path=.*outside the run's output directory"):
        confine(escape, root, key="report.path")


def test_confine_refuses_a_symlink_that_leads_out(tmp_path):
    root, outside = tmp_path / "run", tmp_path / "elsewhere"
    root.mkdir(), outside.mkdir()
    (root / "link").symlink_to(outside)
    with pytest.raises(PathEscapeError):
        confine("link/file.txt", root)
    with pytest.raises(PathEscapeError):  # a sibling whose name merely starts like root's
        confine(tmp_path / "run-evil" / "x", root)


def test_atomic_write_replaces_whole_files(tmp_path):
    target = atomic_write(tmp_path / "sub" / "table.csv", "a,b\n1,2\n")
    assert target.read_text() == "a,b\n1,2\n"
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new" and sorted(p.name for p in target.parent.iterdir()) == ["table.csv"]


def _enospc(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_disk_full_on_write_keeps_old_content_and_no_partial(tmp_path, monkeypatch):
    target = atomic_write(tmp_path / "card.json", "old")
    monkeypatch.setattr(os, "fsync", _enospc)
    with pytest.raises(DiskFullError, match="disk full while writing index card .*run.output_dir"):
        atomic_write(target, "new" * 1000, what="index card")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["card.json"]


def test_disk_full_in_atomic_dir_leaves_no_folder_marked_complete(tmp_path, monkeypatch):
    dest = tmp_path / "artifacts"
    with pytest.raises(DiskFullError):
        with atomic_dir(dest, what="sweep artifacts") as tmp:
            (tmp / "ok.csv").write_text("x")
            _enospc()
    assert not dest.exists() and list(tmp_path.iterdir()) == []


def test_guard_passes_other_errors_through(tmp_path):
    with pytest.raises(PermissionError):
        with disk_full_guard("x", tmp_path):
            raise PermissionError(errno.EACCES, "denied")


@pytest.fixture
def tiny_fs(tmp_path):
    """A real 64 KiB tmpfs (needs root and mount rights; skipped otherwise)."""
    mount = tmp_path / f"tiny-{uuid.uuid4().hex[:6]}"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.strip() or done.returncode}); the monkeypatched ENOSPC tests cover the logic")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_real_full_disk_gives_clear_error_and_no_half_file(tiny_fs):
    atomic_write(tiny_fs / "small.txt", "fits")
    with pytest.raises(DiskFullError, match=r"disk full while writing sweep summary to .*big\.csv \(\d+ bytes free"):
        atomic_write(tiny_fs / "big.csv", b"x" * 256 * 1024, what="sweep summary")
    assert sorted(p.name for p in tiny_fs.iterdir()) == ["small.txt"]
    assert (tiny_fs / "small.txt").read_text() == "fits"


def test_real_full_disk_in_a_folder_of_artifacts(tiny_fs):
    with pytest.raises(DiskFullError):
        with atomic_dir(tiny_fs / "index", what="FAISS index") as tmp:
            for i in range(100):
                (tmp / f"part{i}.bin").write_bytes(os.urandom(4096))
    assert list(tiny_fs.iterdir()) == [] and not is_complete(tiny_fs / "index")
