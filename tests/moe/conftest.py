"""Shared fixtures for the MoE measurement-library tests (CPU only, real conf/)."""
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tasks.moe.specs import load_model_spec  # noqa: E402


@pytest.fixture(scope="session")
def conf_dir() -> Path:
    return REPO / "conf"


@pytest.fixture(scope="session")
def mini():
    return load_model_spec("llada2_mini")


@pytest.fixture(scope="session")
def lladamoe():
    return load_model_spec("llada_moe_7b")
