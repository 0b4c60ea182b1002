"""Sweep figures are rendered once per distinct input (tasks/report/figure_cache.py); a re-run copies them."""

from __future__ import annotations

import re
from pathlib import Path

import bundles as B

from tasks.report import figure_cache


def test_second_render_is_a_copy_of_the_first(tmp_path, monkeypatch):
    rows = B.sweep_rows(hardware=("h100_sxm",))
    first = figure_cache.sweep_figures(rows, tmp_path / "a", "llama2_70b", cache_dir=tmp_path / "cache")
    assert [p.name for p in first] == list(figure_cache.FIGURES.values())

    import tasks.report.plots as plots

    monkeypatch.setattr(plots, "sweep_figures", lambda *a, **k: (_ for _ in ()).throw(AssertionError("rendered again")))
    other_runs = [r.model_copy(update={"run_id": f"{i:032x}"}) for i, r in enumerate(rows)]  # a later run's children
    second = figure_cache.sweep_figures(other_runs, tmp_path / "b", "llama2_70b", cache_dir=tmp_path / "cache")
    assert [p.read_bytes() for p in second] == [p.read_bytes() for p in first]


def test_any_plotted_input_is_a_new_key():
    rows = B.sweep_rows(hardware=("h100_sxm",))
    key = figure_cache.figures_key(rows, "llama2_70b", None)
    changed = [rows[0].model_copy(update={"step_ms": (rows[0].step_ms or 1.0) * 2})] + rows[1:]
    assert figure_cache.figures_key(changed, "llama2_70b", None) != key
    assert figure_cache.figures_key(rows, None, None) != key
    assert figure_cache.figures_key(rows[:-1], "llama2_70b", None) != key


def test_fields_left_out_of_the_key_are_never_plotted():
    source = (Path(figure_cache.__file__).with_name("plots.py")).read_text()
    for field in figure_cache.NOT_PLOTTED:
        assert not re.search(rf"\b{field}\b", source), f"plots.py reads {field}: it must be part of the figures' key"


def test_without_a_cache_dir_it_renders_as_before(tmp_path):
    rows = B.sweep_rows(hardware=("h100_sxm",))
    assert len(figure_cache.sweep_figures(rows, tmp_path / "plain")) == 3
    assert not any(tmp_path.glob("**/figures.json"))
