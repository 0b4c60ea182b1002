import json

import numpy as np
import pytest

from tasks.moe.routing import make_router
from tasks.moe.trace import TraceFormatError, read_trace, write_trace


def _write(mini, path, steps=3, n=8, seed=0):
    idx = make_router("calibrated", mini, block_logit_scale=2.0).route(n, steps, seed)
    write_trace(path, idx, model=mini.name, num_experts=256, top_k=8, moe_layers=mini.moe_layer_indices,
                meta={"checkpoint": "synthetic"})
    return idx


def test_round_trip(mini, tmp_path):
    p = tmp_path / "t.jsonl"
    idx = _write(mini, p)
    tr = read_trace(p)
    assert tr.model == "llada2_mini" and tr.meta == {"checkpoint": "synthetic"} and tr.step_ids == [0, 1, 2]
    assert np.array_equal(np.stack(tr.steps), idx)
    r = make_router("trace", mini, path=str(p))
    assert np.array_equal(r.route(8, 3, seed=0), idx)
    assert np.array_equal(r.route(4, 2, seed=2), np.stack([idx[2], idx[0]])[:, :, :4])  # cycles, prefix tokens
    with pytest.raises(ValueError, match="fewer than n_tokens"):
        r.route(9, 1, 0)


def _lines(path):
    return path.read_text().splitlines()


def _rewrite(path, lines):
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("mutate, message", [
    (lambda h, s: (h, ["{not json"]), "invalid JSON"),
    (lambda h, s: (h | {"format": "other"}, s), "format must be"),
    (lambda h, s: ({k: v for k, v in h.items() if k != "top_k"}, s), "lacks key 'top_k'"),
    (lambda h, s: (h, []), "no step lines"),
    (lambda h, s: (h, [s[0] | {"experts": s[0]["experts"][:-1]}]), "expected \\(19, N>0, 8\\)"),
    (lambda h, s: (h, [s[0] | {"experts": [[[300] * 8] * 8] * 19}]), "out of range"),
    (lambda h, s: (h, [s[0] | {"experts": [[list(range(7)) + [0]] * 8] * 19}]), "duplicate expert"),
    (lambda h, s: (h, [s[0] | {"experts": [[[1, 2]]] + s[0]["experts"][1:]}]), "rectangular"),
    (lambda h, s: (h, [s[1], s[0]]), "does not increase"),
])
def test_malformed_trace_errors(mini, tmp_path, mutate, message):
    p = tmp_path / "bad.jsonl"
    _write(mini, p, steps=2)
    lines = _lines(p)
    header, steps = json.loads(lines[0]), [json.loads(x) for x in lines[1:]]
    header, steps = mutate(header, steps)
    _rewrite(p, [json.dumps(header)] + [x if isinstance(x, str) else json.dumps(x) for x in steps])
    with pytest.raises(TraceFormatError, match=message) as exc:
        read_trace(p)
    assert "TRACE_FORMAT.md" in str(exc.value)


def test_trace_for_other_model_rejected(mini, tmp_path, lladamoe):
    p = tmp_path / "t.jsonl"
    _write(mini, p)
    with pytest.raises(ValueError, match="does not match"):
        make_router("trace", lladamoe, path=str(p))
    with pytest.raises(ValueError, match="routing.path"):
        make_router("trace", mini)
    with pytest.raises(ValueError, match="does not exist"):
        make_router("trace", mini, path=str(tmp_path / "missing.jsonl"))
