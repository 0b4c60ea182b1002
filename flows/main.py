"""Entry point with Hydra's command line: ``python flows/main.py [--cfg job] [-m] [OVERRIDE ...]``.

    python flows/main.py +sweep=tokens                               # the main job
    python flows/main.py --cfg job +sweep=tokens                     # print the composed config, run nothing
    python flows/main.py --help                                      # config groups and their options
    python flows/main.py -m +sweep=tokens 'sweep.tokens=[64],[128]'  # multirun: one job (one MLflow parent) per value

Every job's overrides are checked before anything runs, so a bad key stops with a message naming the fix.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
from pathlib import Path


def _exit_without_finalising() -> None:
    """The last exit handler of a finished ``python flows/main.py``: leave without Python's finalisation.

    Tearing down the ~4000 modules a run imports (Prefect, MLflow, scikit-learn, pandas) took 1.3-1.5 s after the
    work was done, longer than any stage of a re-run. By now non-daemon threads are joined and the exit handlers
    registered after this one (MLflow, Prefect's log workers, temporary-folder finalizers) have run; this closes the
    MLflow store's SQLite connections (checkpointing its write-ahead log), shuts logging down, flushes the console
    and exits with the run's status. A run that ended in an exception, and ``flows.main`` imported as a module
    (tests), finalise as usual.
    """
    if "code" not in _EXIT:
        return
    if (store := sys.modules.get("flows.mlflow_sqlite")) is not None:
        store.close_connections()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(_EXIT["code"])


_EXIT: dict[str, int] = {}
atexit.register(_exit_without_finalising)  # registered before the libraries' handlers, so it runs after them

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flows.env import apply_defaults  # noqa: E402

apply_defaults()

import hydra  # noqa: E402
from hydra._internal.utils import get_args_parser  # noqa: E402  (hydra.main's own parser)
from hydra.errors import HydraException  # noqa: E402

from flows import config as config_module  # noqa: E402
from flows import engine, store  # noqa: E402
from flows.config import CONF_DIR, check_credentials, load_settings  # noqa: E402
from flows.intent import experiment_overrides  # noqa: E402
from flows.progress import console  # noqa: E402
from flows.reaper import start_reaper  # noqa: E402
from flows.safety import DiskFullError, SecretInOverrideError, reject_secret_overrides  # noqa: E402
from tasks.settings import Settings, SettingsError  # noqa: E402

# Hydra's own settings for this app, passed as overrides so conf/config.yaml stays the research config:
# no log files or .hydra/ folders, no chdir, job folders beside the run outputs. A user's own hydra.* wins.
HYDRA_DEFAULTS = [
    "hydra/job_logging=none",
    "hydra/hydra_logging=none",
    "hydra.output_subdir=null",
    "hydra.job.chdir=false",
    "hydra.run.dir=${run.output_dir}/hydra/${now:%Y-%m-%d_%H-%M-%S}",
    "hydra.sweep.dir=${run.output_dir}/hydra/multirun-${now:%Y-%m-%d_%H-%M-%S}",
    "hydra.help.app_name='python flows/main.py'",
    "hydra.help.header='Sovereign: answer the configured research question (Prefect flow, MLflow runs). "
    "Usage: python flows/main.py [--cfg job] [-m] [OVERRIDE ...], e.g. +sweep=tokens'",
]
_RESULT = {"code": 0, "runs": []}


def _app_overrides(overrides: list[str]) -> list[str]:
    return [o for o in overrides if not o.lstrip("+~").startswith(("hydra.", "hydra/"))]


def expand_jobs(overrides: list[str], multirun: bool) -> list[list[str]]:
    """The override list of every job Hydra will launch: one for a run, the cartesian product for ``-m``."""
    app = _app_overrides(overrides)
    if not multirun:
        return [app]
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        parsed = OverridesParser.create().parse_overrides(app)
        return BasicSweeper.split_arguments(parsed, None)[0]
    except HydraException as exc:
        raise SettingsError(f"bad multirun override: {str(exc).splitlines()[0]}") from None


def warm_prefect_api() -> threading.Thread | None:
    """Without PREFECT_API_URL, Prefect starts a temporary server on its first API call (about 10 s here); start it
    now, in the background, so that it boots while this process imports the stages. Join before the flow runs."""
    if os.environ.get("PREFECT_API_URL"):
        return None

    def start() -> None:
        try:
            from prefect.server.api.server import SubprocessASGIServer

            SubprocessASGIServer().start()
        except Exception:  # noqa: BLE001 - the flow's own first call starts (or reports) it as before
            pass

    thread = threading.Thread(target=start, name="prefect-api-warmup", daemon=True)
    thread.start()
    return thread


def run_job(settings: Settings, resolved: dict, overrides: list[str]) -> int:
    """One research run of the config Hydra composed for this job; returns the exit status."""
    from flows.research import research
    from flows.signals import terminate_promptly

    if _RESULT.get("warmup") is not None:
        _RESULT.pop("warmup").join()

    store_dir = settings.tracking.store_dir
    # A configured Prefect API records the flow run there; without one the flow runs in this process, no server
    # (flows/engine.py: same stages, caches and MLflow runs).
    run = research if _RESULT.get("server") else research.fn
    try:
        with terminate_promptly():  # SIGTERM: the run is marked FAILED and the process exits
            summary = run(overrides=overrides, config=resolved)
    except DiskFullError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        return 1
    except Exception as exc:
        if (cause := store.named_cause(exc, store_dir)) is None:
            raise
        console.print(f"[bold red]error:[/] {cause}")
        return 1
    _RESULT["runs"].append(summary)  # the flow printed the answer, the report paths and the MLflow run
    return 0


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def _hydra_job(cfg) -> None:  # noqa: ANN001 - Hydra's DictConfig
    """One job: the config Hydra composed here is the one the flow runs (the flow composes only for UI runs)."""
    from hydra.core.hydra_config import HydraConfig

    overrides = list(HydraConfig.get().overrides.task)
    try:
        resolved = config_module.resolve_config(cfg)
        settings = config_module.validate_config(resolved, overrides)
    except SettingsError as exc:  # checked before the run; a multirun's later job still reports, not crashes
        console.print(f"[bold red]error:[/] {exc}")
        _RESULT["code"] = max(_RESULT["code"], 2)
        return
    _RESULT["code"] = max(_RESULT["code"], run_job(settings, resolved, overrides))


def _hydra_argv(args, overrides: list[str]) -> list[str]:
    """Flags first, then our Hydra defaults (unless the user set the same key), then the user's overrides."""
    flags = []
    for flag, value in (("--cfg", args.cfg), ("--package", args.package)):
        if value:
            flags += [flag, value]
    flags += [f for f, on in (("--resolve", args.resolve), ("--multirun", args.multirun), ("--help", args.help),
                               ("--hydra-help", args.hydra_help), ("--shell-completion", args.shell_completion)) if on]
    taken = {o.lstrip("+~").split("=")[0] for o in overrides}
    defaults = [d for d in HYDRA_DEFAULTS if d.split("=")[0] not in taken]
    tail = ["--info", args.info] if args.info else []
    return flags + defaults + overrides + tail


def main(argv: list[str]) -> int:
    try:  # question.text=<free text> / --question <text> become a Hydra-safe override (issue 11)
        raw, argv = list(argv), list(config_module.normalise_question_override(list(argv)))
    except SettingsError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        return 2
    argv, plan = experiment_overrides(raw, argv)
    if plan is not None:
        console.print(f"[bold]experiment:[/] the question names {plan.describe()}; running their parallel-token sweep "
                      "(+sweep=tokens; run.auto_experiment=false for a literature review only)")
    args = get_args_parser().parse_args(argv)
    overrides = list(args.overrides)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:  # INFO records of loggers set to INFO (prefect's, for the run's logs) stay off the terminal
        handler.setLevel(logging.WARNING)
    for noisy in ("httpx", "httpcore", "alembic", "mlflow", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if not (args.help or args.hydra_help or args.info or args.shell_completion):
        multirun = args.multirun or "hydra.mode=MULTIRUN" in overrides
        try:
            checked = []
            for job in expand_jobs(overrides, multirun):  # every job of a multirun, before any of them touches a store
                reject_secret_overrides(job)
                checked.append(load_settings(job)[0])
                if not args.cfg:
                    check_credentials(checked[-1])  # fail fast, before Prefect or MLflow start
            server = not args.cfg and engine.server_configured()
            for settings in checked if not args.cfg else []:
                store.prepare(settings, prefect_store=server)  # named causes for a broken store; schemas created once, under a lock
        except (SettingsError, SecretInOverrideError) as exc:
            console.print(f"[bold red]error:[/] {exc}")
            return 2
    _RESULT.update(code=0, runs=[], server=False)
    if not (args.help or args.hydra_help or args.info or args.shell_completion or args.cfg) and engine.server_configured():
        _RESULT["server"] = True
        start_reaper()  # stops the temporary Prefect server if this process is SIGKILLed
        _RESULT["warmup"] = warm_prefect_api()
    saved = sys.argv
    sys.argv = [str(Path(__file__).resolve()), *_hydra_argv(args, overrides)]
    try:
        _hydra_job()
    except SystemExit as exc:  # Hydra reports an exception in a job and exits 1
        return exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.argv = saved
    return _RESULT["code"]


if __name__ == "__main__":
    _EXIT["code"] = main(sys.argv[1:])
    sys.exit(_EXIT["code"])
