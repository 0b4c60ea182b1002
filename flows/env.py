"""Process-wide defaults applied before Prefect or MLflow are imported: quiet, offline, local."""

from __future__ import annotations

import os

from tasks.settings import PROJECT_ROOT

_DEFAULTS = {
    "PREFECT_HOME": str(PROJECT_ROOT / "mlruns" / ".prefect"),
    "PREFECT_LOCAL_STORAGE_PATH": str(PROJECT_ROOT / "mlruns" / ".prefect" / "storage"),
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
    # INFO reaches the run's Logs tab in the Prefect UI (stage progress, the answer); the terminal shows
    # warnings only, since flows/progress.py already prints each stage there.
    "PREFECT_LOGGING_LEVEL": "INFO",
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING",
    "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
    "DO_NOT_TRACK": "1",
    # Prefect's temporary server gives up after 20 s by default; on a busy 2-core machine it needs longer.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
    "MLFLOW_LOGGING_LEVEL": "WARNING",  # no "Creating initial MLflow database tables" / "Started monitoring" lines  # no "View run ..." line per run against a tracking server
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
