"""Helpers for the tests of the checks added in tasks/tribunal/checks/{bounds,comparisons,injection,...}.py."""

from __future__ import annotations

import bundles as B

from tasks.tribunal.checks import REGISTRY, CheckContext, ReportText


def run(key: str, bundle, text: str | None):
    return REGISTRY[key].fn(CheckContext(bundle=bundle, report=ReportText.parse(text) if text is not None else None))


def kinds(res) -> set[str]:
    return {f.kind for f in res.findings}


def base_ms(b, n: int = 1, hw: str = "h100_sxm") -> float:
    return next(r.step_ms for r in b.rows("llama2_70b", n, hw) if r.step_ms)


def substantive():
    return B.substantive()
