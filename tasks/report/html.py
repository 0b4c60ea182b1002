"""Markdown -> one self-contained, inert HTML page; and the escaping that keeps untrusted text inert in Markdown.

Untrusted text (paper titles, authors, abstracts, claims, evidence, the question, LLM output) must never become
markup: in report.md its ``[``, ``]`` and backslashes are escaped so no link or image forms, and ``<``/``&`` are
HTML-escaped. As a second guard the rendered HTML keeps only links to arXiv abstracts or in-page anchors and only
the embedded PNG figures, and a Content-Security-Policy forbids every remote load and script.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

import markdown

# No scripts, no remote loads of any kind (images, fonts, frames, forms): only inline styles and data: images.
CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
       "frame-ancestors 'none'")
SAFE_HREF = re.compile(r"^(https://arxiv\.org/abs/[A-Za-z0-9./-]+|#[A-Za-z0-9_-]*)$")
SAFE_SRC = re.compile(r"^data:image/png;base64,[A-Za-z0-9+/=]+$")
_MD_LINK_CHARS = re.compile(r"([\\\[\]])")
_LINK = re.compile(r'<a\b[^>]*>', re.I)
_IMG = re.compile(r'<img\b[^>]*>', re.I)
_ATTR = re.compile(r'\b(href|src)="([^"]*)"', re.I)


def md_inert(text: object) -> str:
    """Text for Markdown that can form no link, image, autolink or HTML tag (whitespace kept)."""
    return _MD_LINK_CHARS.sub(r"\\\1", html.escape(str(text), quote=False))


def _attr(tag: str, name: str) -> str | None:
    found = [v for k, v in _ATTR.findall(tag) if k.lower() == name]
    return html.unescape(found[0]) if found else None


def _sanitise(body: str) -> str:
    """Drop any link target outside arXiv / the page and any image that is not an embedded PNG."""
    def link(m: re.Match) -> str:
        href = _attr(m.group(0), "href")
        return m.group(0) if href is None or SAFE_HREF.match(href) else "<a>"

    def img(m: re.Match) -> str:
        src = _attr(m.group(0), "src")
        return m.group(0) if src and SAFE_SRC.match(src) else ""

    return _IMG.sub(img, _LINK.sub(link, body))


def render_html(markdown_text: str, figure_files: dict[str, Path], title: str, css: str = "") -> str:
    """Self-contained HTML: the Markdown rendered, figures inlined as base64 PNG, unsafe links/images dropped, a CSP.

    Args:
        markdown_text: the report as Markdown (untrusted parts already passed through ``md_inert``/``cell``).
        figure_files: relative figure path as written in the Markdown -> the PNG file to embed.
        title: page title (escaped here).
        css: inline stylesheet.
    """
    body = markdown.markdown(markdown_text, extensions=["tables", "fenced_code"])
    for rel, path in figure_files.items():
        data = base64.b64encode(Path(path).read_bytes()).decode()
        body = body.replace(f'src="{rel}"', f'src="data:image/png;base64,{data}"')
    body = _sanitise(body)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
            f"<meta name=\"referrer\" content=\"no-referrer\"><title>{html.escape(title)}</title>"
            f"<style>{css}</style></head><body>\n{body}\n</body></html>\n")
