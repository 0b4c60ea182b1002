"""Row 2: Markdown in paper text or the question never goes live in report.html or report.md."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tribunal"))

import bundles as B  # noqa: E402

from tasks.report.html import CSP, render_html  # noqa: E402
from tasks.report.render import write_report_files  # noqa: E402
from tasks.tribunal.engine import review_rounds, sequential_review  # noqa: E402
from tasks.tribunal.settings import TribunalSettings  # noqa: E402

EVIL = "[click](javascript:alert(1)) ![p](https://evil.example/p.png) <https://evil.example/a> \\[x](javascript:y)"


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    s = TribunalSettings()
    b = B.bundle(papers=[B.paper(0, abstract="x")], claims=[])
    evil = B.paper(9).model_copy(update={"title": EVIL, "authors": [EVIL]})
    b = b.model_copy(update={"papers": [evil], "question": b.question.model_copy(update={"text": EVIL})})
    outcome = review_rounds(b, s, sequential_review(s))
    files = write_report_files(outcome.bundle, outcome, tmp_path_factory.mktemp("report"))
    return files["html"].read_text(), files["markdown"].read_text()


def test_no_live_link_or_remote_image_in_html(page):
    html, _ = page
    assert 'href="javascript:' not in html and "<a href=\"https://evil" not in html
    assert not re.search(r'<img[^>]+src="https?://', html)
    assert CSP in html and "Content-Security-Policy" in html


def test_markdown_report_has_no_link_syntax_from_untrusted_text(page):
    import markdown

    _, md = page
    rendered = markdown.markdown(md, extensions=["tables"])
    assert "javascript:" not in "".join(re.findall(r'href="[^"]*"', rendered))
    assert "evil.example" not in "".join(re.findall(r'(?:href|src)="[^"]*"', rendered))


def test_sanitiser_drops_unsafe_targets_even_if_markup_slips_through():
    out = render_html("[a](javascript:x) ![b](https://evil.example/p.png) [ok](https://arxiv.org/abs/2501.00001)", {}, "t")
    assert "javascript:" not in out.split("</head>")[1] and "evil.example" not in out
    assert 'href="https://arxiv.org/abs/2501.00001"' in out
