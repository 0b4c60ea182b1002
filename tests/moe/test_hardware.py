import json

import pytest

from tasks.moe.hardware import load_hardware


def test_datasheet_ceilings():
    h100, h200 = load_hardware("h100_sxm"), load_hardware("h200")
    assert h100.hbm_bandwidth_bytes_s == 3.35e12 and h100.bf16_flops == 989e12 and h100.memory_bytes == 80e9
    assert h200.hbm_bandwidth_bytes_s == 4.8e12 and h200.memory_bytes == 141e9
    assert not h200.measured and load_hardware("cpu").hbm_bandwidth_bytes_s < h100.hbm_bandwidth_bytes_s


def test_measured_from_dict_and_json(tmp_path):
    cal = {"copy_bandwidth_bytes_s": 4.11e12, "bf16_gemm_flops": 754e12, "gpu_name": "NVIDIA H200"}
    hw = load_hardware("measured", calibration=cal)
    assert hw.measured and hw.hbm_bandwidth_bytes_s == 4.11e12 and hw.bf16_flops == 754e12
    p = tmp_path / "cal.json"
    p.write_text(json.dumps(cal))
    assert load_hardware("measured", calibration=p) == hw


def test_measured_without_calibration_is_clear():
    with pytest.raises(ValueError, match="calibration"):
        load_hardware("measured")
    with pytest.raises(ValueError, match="bf16_gemm_flops"):
        load_hardware("measured", calibration={"copy_bandwidth_bytes_s": 1e12})


def test_unknown_hardware():
    with pytest.raises(ValueError, match="h200"):
        load_hardware("tpu_v9")
