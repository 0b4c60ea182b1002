"""references_known: every cited arXiv id is a paper of the run or a source named in conf/."""

from __future__ import annotations

import bundles as B
from checkhelp import kinds, run


def _doc(refs: str) -> str:
    return f"# R\n\n## Abstract\n\nSee [2501.00003](https://arxiv.org/abs/2501.00003).\n\n## References\n\n{refs}\n"


def test_run_papers_and_configured_sources_pass():
    b = B.substantive()
    refs = "1. *P*. arXiv:2501.00001.\n2. *Mixtral*. arXiv:2401.04088 (a conf/model source, not retrieved).\n"
    res = run("references_known", b, _doc(refs))
    assert res.passed, res.findings


def test_a_reference_no_stage_read_is_flagged():
    b = B.substantive()
    res = run("references_known", b, _doc("1. *P*. arXiv:2501.00001.\n2. *Invented*. arXiv:2612.04321v2. <https://arxiv.org/abs/2612.04321>\n"))
    assert "unknown_reference" in kinds(res)
    assert any("2612.04321" in f.message for f in res.findings)


def test_no_arxiv_citation_is_not_applicable():
    assert not run("references_known", B.literature_only(), "# R\n\n## Abstract\n\nNo ids here, 1234 tokens.\n").applicable
