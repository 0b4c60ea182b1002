"""Where the stages' tasks run: through Prefect inside a flow run, or in this process when no Prefect API is configured.

``python flows/main.py`` without ``PREFECT_API_URL`` used to start Prefect's temporary server (a second Python
process, its database migrations and an HTTP round trip per state change: about 13 s of CPU on every run) only to
record the run in a database nobody opens. It now calls the flow's function directly (Prefect's documented ``.fn``
path) and the tasks the stages call run here:

* ``call`` runs a task once; ``map`` runs it over a list in threads, as Prefect's thread-pool task runner does.
* Cached tasks keep Prefect's semantics and files: the key comes from the task's own cache policy, the record is
  read from and written to the same result store (``PREFECT_LOCAL_STORAGE_PATH``) with the task's expiration, and
  ``PREFECT_TASKS_REFRESH_CACHE`` still forces a recompute. A local run and a server run share their cache.

Inside a flow run (deployments, the team stack, tests under a Prefect harness) every call goes through Prefect as
before: task runs, states, logs and the ``Cached`` state in the UI.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import as_completed as _futures_completed
from datetime import datetime, timezone
from typing import Any, Iterable, Iterator

log = logging.getLogger("sovereign.engine")
MAX_THREADS = 64  # Prefect's thread-pool runner starts a thread per task; a bound keeps a huge map sane
# For tasks that compute in Python (they hold the GIL): more threads than cores only starve the main thread, which
# logs each finished item to MLflow meanwhile (49 sweep threads made logging 49 child runs take 22 s instead of 3).
CPU_THREADS = max(1, min(4, os.cpu_count() or 1))


def in_flow_run() -> bool:
    """True inside a Prefect flow run (tasks then go through Prefect's engine)."""
    from prefect.context import FlowRunContext

    return FlowRunContext.get() is not None


def server_configured() -> bool:
    """A Prefect API (env or profile) or a result-storage block is configured: the run goes through Prefect.

    ``SOVEREIGN_PREFECT_SERVER=1`` asks for Prefect's temporary server even without one (runs recorded in
    ``$PREFECT_HOME/prefect.db``, as before this module existed)."""
    if os.environ.get("PREFECT_API_URL") or os.environ.get("SOVEREIGN_PREFECT_SERVER", "").lower() in ("1", "true", "yes"):
        return True
    from prefect.settings import get_current_settings

    settings = get_current_settings()
    return bool(settings.api.url or settings.results.default_storage_block)


def _store(task):
    from prefect.filesystems import LocalFileSystem
    from prefect.results import ResultStore
    from prefect.settings import get_current_settings

    storage = LocalFileSystem(basepath=str(get_current_settings().results.local_storage_path))
    return ResultStore(result_storage=storage).update_for_task(task)


def _key(task, parameters: dict) -> str | None:
    from prefect.cache_policies import CachePolicy

    policy = task.cache_policy
    if not isinstance(policy, CachePolicy):
        return None
    try:
        return policy.compute_key(task_ctx=None, inputs=parameters, flow_parameters={})
    except Exception:  # noqa: BLE001 - as Prefect: a key that cannot be computed means no caching, not a failure
        log.exception("Error encountered when computing cache key - result will not be persisted.")
        return None


def _refresh(task) -> bool:
    if task.refresh_cache is not None:
        return bool(task.refresh_cache)
    from prefect.settings import PREFECT_TASKS_REFRESH_CACHE

    return bool(PREFECT_TASKS_REFRESH_CACHE.value())


def run_local(task, *args: Any, **kwargs: Any) -> Any:
    """The task's function, with its result read from / written to Prefect's result store under its cache key."""
    from prefect.utilities.callables import get_call_parameters

    parameters = get_call_parameters(task.fn, args, kwargs)
    key = _key(task, parameters)
    store = _store(task) if key else None
    if key and not _refresh(task):
        try:
            if store.exists(key):
                return store.read(key).result
        except Exception:  # noqa: BLE001 - an unreadable record is recomputed, as a cache miss
            log.warning("cached result %s of task %s could not be read; recomputing", key, task.name)
    result = task.fn(**parameters)
    if key:
        expiration = datetime.now(timezone.utc) + task.cache_expiration if task.cache_expiration is not None else None
        try:
            store.write(result, key=key, expiration=expiration)
        except Exception as exc:  # noqa: BLE001 - as Prefect: the run continues, the next run recomputes
            log.warning("Failed to write result: %s Execution will continue, but the result has not been written", exc)
    return result


def call(task, *args: Any, **kwargs: Any) -> Any:
    """Run ``task`` once: a Prefect task run inside a flow run, else ``run_local``."""
    if in_flow_run():
        return task(*args, **kwargs)
    return run_local(task, *args, **kwargs)


def map(task, items: Iterable[Any], threads: int = MAX_THREADS, **fixed: Any) -> list:  # noqa: A001 - Prefect's name
    """One run of ``task`` per item (its first parameter), ``fixed`` keyword arguments shared: a list of futures
    (``.result()``), in the order of ``items``. Locally at most ``threads`` run at once (``CPU_THREADS`` for tasks
    that compute in Python; the default, a thread per item, for tasks that wait on the network)."""
    items = list(items)
    if in_flow_run():
        from prefect import unmapped

        return list(task.map(items, **{k: unmapped(v) for k, v in fixed.items()}))
    if not items:
        return []
    pool = ThreadPoolExecutor(max_workers=max(1, min(len(items), threads, MAX_THREADS)), thread_name_prefix=f"task-{task.name}")
    try:
        return [pool.submit(run_local, task, item, **fixed) for item in items]
    finally:
        pool.shutdown(wait=False)  # the futures still complete; no new work is accepted


def as_completed(futures: list) -> Iterator:
    """The futures of ``map`` as they finish."""
    if futures and not isinstance(futures[0], Future):
        from prefect.futures import as_completed as prefect_completed

        yield from prefect_completed(futures)
        return
    yield from _futures_completed(futures)
