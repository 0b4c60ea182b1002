import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

CODE = """
import sys, importlib.abc
BANNED = ("pydantic", "prefect", "mlflow", "hydra", "omegaconf", "rich")
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in BANNED:
            raise ImportError("banned on the GPU box: " + name)
sys.meta_path.insert(0, Block())
import tasks.moe.sweep, tasks.moe.calibration, tasks.moe.trace
assert not any(m.split(".")[0] in BANNED for m in sys.modules)
print("ok")
"""


def test_engine_imports_only_gpu_box_packages():
    out = subprocess.run([sys.executable, "-c", CODE], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
