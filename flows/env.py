"""Process-wide defaults applied before Prefect or MLflow are imported: quiet, offline, local."""

from __future__ import annotations

import os

from tasks.settings import PROJECT_ROOT

_DEFAULTS = {
    "PREFECT_HOME": str(PROJECT_ROOT / "mlruns" / ".prefect"),
    "PREFECT_LOCAL_STORAGE_PATH": str(PROJECT_ROOT / "mlruns" / ".prefect" / "storage"),
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
    "DO_NOT_TRACK": "1",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "GIT_PYTHON_REFRESH": "quiet",
}


def apply_defaults() -> None:
    """Set each default unless the user already chose a value."""
    for key, value in _DEFAULTS.items():
        os.environ.setdefault(key, value)
    (PROJECT_ROOT / "mlruns" / ".prefect").mkdir(parents=True, exist_ok=True)
