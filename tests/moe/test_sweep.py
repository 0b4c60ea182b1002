import json

from tasks.moe.sweep import PointResult, SweepPointSpec, format_table, main, run_point, summary_table, sweep_points


def test_points_grid_dense_once():
    pts = sweep_points(["llada2_mini", "llama2_70b"], ["calibrated", "iid"], [1, 64])
    assert [(p.model, p.routing, p.n_tokens) for p in pts] == [
        ("llada2_mini", "calibrated", 1), ("llada2_mini", "calibrated", 64),
        ("llada2_mini", "iid", 1), ("llada2_mini", "iid", 64), ("llama2_70b", "dense", 1), ("llama2_70b", "dense", 64)]
    assert pts[1].label == "llada2_mini·calibrated·N=64"


def test_run_point_and_roundtrip():
    r = run_point(SweepPointSpec("llada2_mini", "calibrated", 32, steps=8))
    assert not r.failed and r.source == "modelled"
    assert 64 < r.unique_mean < 77 and r.stats["iid_expected_unique"] > 160
    assert set(r.roofline) == {"h100_sxm", "h200"} and r.roofline["h200"]["time_ms"] < r.roofline["h100_sxm"]["time_ms"]
    assert r.routing_params["fit"]["parameter"] == "block_logit_scale"
    back = PointResult.from_dict(json.loads(json.dumps(r.to_dict())))
    assert back == r


def test_failed_points_do_not_crash():
    bad = [run_point(SweepPointSpec("nope", "iid", 8)), run_point(SweepPointSpec("llada2_mini", "iid", 0)),
           run_point(SweepPointSpec("llada2_mini", "gaussian", 8)),
           run_point(SweepPointSpec("llada2_mini", "iid", 8, hardware=("measured",)))]
    assert all(r.failed for r in bad)
    assert "sweep.models" in bad[0].error and "block_len" in bad[1].error
    assert "allowed" in bad[2].error and "calibration" in bad[3].error
    rows = summary_table(bad)
    assert all(row["failed"] for row in rows) and "FAILED" in format_table(rows)


def test_summary_against_dense_baseline():
    res = [run_point(p) for p in sweep_points(["llada_moe_7b", "llama2_70b"], ["iid"], [1, 64], steps=4)]
    rows = summary_table(res)
    moe64 = next(r for r in rows if r["model"] == "llada_moe_7b" and r["N"] == 64)
    assert moe64["unique_mean"] == 64.0 and 0 < moe64["h200_vs_llama2_70b"] < 1
    assert next(r for r in rows if r["model"] == "llama2_70b" and r["N"] == 1)["tokens_per_step"] == 1.0
    assert "llada_moe_7b" in format_table(rows)


def test_cli(capsys, tmp_path):
    out = tmp_path / "r.json"
    rc = main(["--models", "llada2_mini", "llama2_70b", "--routing", "iid", "--tokens", "1", "8", "--steps", "4",
               "--json", str(out)])
    text = capsys.readouterr().out
    assert rc == 0 and "llada2_mini" in text and "h200_ms" in text and "growth law" in text
    assert len(json.loads(out.read_text())) == 4
