"""Entry point: ``python flows/main.py [hydra overrides...]``, e.g. ``+sweep=tokens``."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flows.env import apply_defaults  # noqa: E402

apply_defaults()

from flows.config import check_credentials, load_settings  # noqa: E402
from flows import store  # noqa: E402
from flows.progress import console  # noqa: E402
from flows.reaper import start_reaper  # noqa: E402
from flows.safety import DiskFullError, SecretInOverrideError, reject_secret_overrides  # noqa: E402
from tasks.settings import SettingsError  # noqa: E402

USAGE = """usage: python flows/main.py [OVERRIDE ...]
  Hydra overrides, e.g.  +sweep=tokens  retrieval=snapshot  sweep.tokens=[64,128]
  Config groups live in conf/; `python flows/main.py --help` prints this."""


def main(argv: list[str]) -> int:
    if any(a in ("-h", "--help") for a in argv):
        print(USAGE)
        return 0
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore", "alembic", "mlflow", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        reject_secret_overrides(argv)
        settings = load_settings(argv)[0]
        check_credentials(settings)  # fail fast, before Prefect starts its server
        store.prepare(settings)  # named causes for a broken store; schemas created once, under a lock
    except (SettingsError, SecretInOverrideError) as exc:
        console.print(f"[bold red]error:[/] {exc}")
        return 2
    from flows.research import research
    from flows.signals import terminate_promptly

    start_reaper()  # stops the temporary Prefect server if this process is SIGKILLed
    try:
        with terminate_promptly():  # SIGTERM: the run is marked FAILED and the process exits
            summary = research(overrides=argv)
    except DiskFullError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        return 1
    except Exception as exc:
        if (cause := store.named_cause(exc, settings.tracking.store_dir)) is None:
            raise
        console.print(f"[bold red]error:[/] {cause}")
        return 1
    console.print(f"MLflow run {summary['run_id']} · report {summary['report']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
