"""Guards for paths, secrets and full disks: confine config paths, write atomically, refuse keys in overrides.

The research flow calls these at its I/O edges; none of them imports prefect or mlflow.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

from tasks.redaction import ENV_NAME, ENV_NAME_KEY, SECRET_KEY, SECRET_VALUE
from tasks.settings import PROJECT_ROOT, Settings, project_path

log = logging.getLogger("sovereign.safety")

ALLOW_DIRS_ENV = "SOVEREIGN_ALLOW_DIRS"  # extra folders (os.pathsep-separated) config paths may point into
ALLOWED_ENDPOINTS_ENV = "SOVEREIGN_ALLOWED_ENDPOINTS"  # comma-separated endpoints an override may set
_ENDPOINT_KEY = ("base_url", "endpoint", "api_base")

_DISK_FULL = {errno.ENOSPC, errno.EDQUOT}
# Values that look like credentials: OpenAI/NVIDIA keys, bearer tokens, GitHub and HF tokens.
# Key names of credentials ("api_key", "hf_token"), but not "tokens" or "max_new_tokens".


class PathEscapeError(ValueError):
    """A path from config points outside the folder the run may write to."""


class DiskFullError(OSError):
    """The disk filled up while writing; nothing half-written was left behind as complete."""


class SecretInOverrideError(ValueError):
    """A Hydra override carries what looks like an API key; keys belong in the environment."""


class EndpointOverrideError(ValueError):
    """A run-time override points an endpoint that may receive a key somewhere not on the allow-list."""


def confine(path: str | Path, root: str | Path, key: str = "path") -> Path:
    """Resolve ``path`` against ``root`` and refuse it if it lands outside ``root``.

    Relative paths are taken relative to ``root``; ``..`` and symlinks are resolved
    before the check, so neither can be used to climb out.

    Args:
        path: the path from config (relative or absolute).
        root: the run's output directory; the result must lie inside it.
        key: the config key the path came from, named in the error.
    Returns:
        The absolute, resolved path inside ``root``.
    Raises:
        PathEscapeError: naming ``key``, the resolved path and ``root``.
    """
    root_resolved = Path(root).expanduser().resolve()
    candidate = Path(path).expanduser()
    if not candidate.is_absolute():
        candidate = root_resolved / candidate
    resolved = candidate.resolve()
    if resolved != root_resolved and not resolved.is_relative_to(root_resolved):
        raise PathEscapeError(
            f"{key}={str(path)!r} resolves to {resolved}, outside the run's output directory {root_resolved}; "
            f"use a path relative to run.output_dir without '..' (or a symlink leading out)"
        )
    return resolved


def _free_bytes(path: Path) -> str:
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        return f"{shutil.disk_usage(probe).free} bytes free"
    except OSError:
        return "free space unknown"


def _disk_full_error(what: str, target: Path, exc: OSError) -> DiskFullError:
    return DiskFullError(
        exc.errno,
        f"disk full while writing {what} to {target} ({_free_bytes(target)} on that filesystem); "
        f"free space there, or point run.output_dir / tracking.store_dir at a larger disk, then re-run: "
        f"completed stages are cached and are not recomputed",
    )


def _remove_quietly(paths: Iterable[Path]) -> None:
    for p in paths:
        try:
            shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink(missing_ok=True)
        except OSError:
            pass


@contextmanager
def disk_full_guard(what: str, target: str | Path, partial: Iterable[str | Path] = ()) -> Iterator[None]:
    """Turn ENOSPC/EDQUOT inside the block into a DiskFullError that names the fix.

    Args:
        what: what was being written, for the message (e.g. "MLflow artifacts").
        target: where it was being written.
        partial: files or folders the block may have left half-written; they are removed.
    """
    try:
        yield
    except OSError as exc:
        if exc.errno not in _DISK_FULL or isinstance(exc, DiskFullError):
            raise
        _remove_quietly(Path(p) for p in partial)
        raise _disk_full_error(what, Path(target), exc) from exc


def atomic_write(path: str | Path, data: bytes | str, what: str = "file") -> Path:
    """Write ``data`` to ``path`` so that ``path`` is either complete or absent.

    The bytes go to a temporary file in the same folder, are fsync'ed, and only then
    renamed over ``path``. On a full disk the temporary file is removed and a
    DiskFullError says what to do; ``path`` keeps its previous content (or stays absent).

    Returns:
        ``path`` as a Path.
    """
    path = Path(path)
    payload = data.encode() if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    with disk_full_guard(what, path, partial=[tmp]):
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                view = memoryview(payload)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except BaseException:
            _remove_quietly([tmp])
            raise
    return path


COMPLETE_MARKER = ".complete"


@contextmanager
def atomic_dir(path: str | Path, what: str = "folder") -> Iterator[Path]:
    """Fill a folder under a temporary name; it appears at ``path`` with a ``.complete`` marker only on success.

    Yields:
        The temporary folder to write into.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    _remove_quietly([tmp])
    tmp.mkdir(parents=True)
    try:
        with disk_full_guard(what, path, partial=[tmp]):
            yield tmp
            atomic_write(tmp / COMPLETE_MARKER, b"", what=what)
            if path.exists():
                _remove_quietly([path])
            os.replace(tmp, path)
    except BaseException:
        _remove_quietly([tmp])
        raise


def is_complete(path: str | Path) -> bool:
    """Whether a folder written by ``atomic_dir`` finished (its marker is present)."""
    return (Path(path) / COMPLETE_MARKER).exists()


def reject_secret_overrides(overrides: Iterable[str]) -> None:
    """Refuse overrides that carry a credential: they would land in MLflow params and Prefect's database.

    Raises:
        SecretInOverrideError: naming the override key and the environment variable to use instead.
    """
    for item in overrides:
        key, _, value = item.lstrip("+~").partition("=")
        env_name_slot = bool(ENV_NAME_KEY.search(key)) and bool(value) and not ENV_NAME.fullmatch(value)
        if SECRET_VALUE.search(value) or (value and SECRET_KEY.search(key)) or env_name_slot:
            raise SecretInOverrideError(
                f"override '{key}=…' looks like a credential; do not pass keys as overrides (they are stored as run "
                f"parameters). Export it instead, e.g. NVIDIA_API_KEY or OPENAI_API_KEY, and name the variable "
                f"with the config's '*_env' key (e.g. embedder.api_key_env)"
            )


def writable_roots() -> list[Path]:
    """Folders that config paths may point into: the project's store ``mlruns/`` and those named in $SOVEREIGN_ALLOW_DIRS."""
    extra = [Path(p).expanduser() for p in os.environ.get(ALLOW_DIRS_ENV, "").split(os.pathsep) if p.strip()]
    return [PROJECT_ROOT / "mlruns"] + [p for p in extra if p.is_absolute()]


def confine_to_store(path: str | Path, key: str) -> Path:
    """``confine`` against every writable root; the first that holds ``path`` wins.

    Raises:
        PathEscapeError: naming ``key``, where it resolves, the roots and the environment variable that adds one.
    """
    absolute = project_path(path)
    for root in writable_roots():
        try:
            return confine(absolute, root, key)
        except PathEscapeError:
            continue
    roots = ", ".join(str(r) for r in writable_roots())
    raise PathEscapeError(
        f"{key}={str(path)!r} resolves to {absolute.resolve()}, outside the store ({roots}); use a path under mlruns/, "
        f"or name the folder explicitly in the environment: export {ALLOW_DIRS_ENV}=/that/folder"
    )


def confine_settings_paths(settings: Settings) -> None:
    """Every folder a run writes to (outputs, caches, the tracking store) lies inside a writable root."""
    for key, value in (("run.output_dir", settings.run.output_dir), ("run.cache_dir", settings.run.cache_dir),
                       ("tracking.store_dir", settings.tracking.store_dir)):
        confine_to_store(value, key)


def reject_endpoint_overrides(overrides: Iterable[str]) -> None:
    """Refuse a run-time override of an endpoint (e.g. ``llm.base_url``) unless $SOVEREIGN_ALLOWED_ENDPOINTS lists it.

    Such an endpoint receives the provider's API key; it comes from conf/ files, or from an operator's allow-list.
    """
    allowed = {u.strip().rstrip("/") for u in os.environ.get(ALLOWED_ENDPOINTS_ENV, "").split(",") if u.strip()}
    for item in overrides:
        key, _, value = item.lstrip("+~").partition("=")
        if key.rsplit(".", 1)[-1].lower() in _ENDPOINT_KEY and value.strip().rstrip("/") not in allowed | {"", "null"}:
            raise EndpointOverrideError(
                f"override '{key}=…' changes an endpoint that receives the API key; set it in conf/ (e.g. conf/llm/*.yaml) "
                f"or allow it explicitly: export {ALLOWED_ENDPOINTS_ENV}=<url>[,<url>...]"
            )


def live_results_dir(results_dirs: list[Path], out_dir: Path) -> Path:
    """Where a live GPU run writes its results file: the first plain folder of ``sweep.results_dir`` when it lies
    inside the project's results/ or a writable root (mlruns/, $SOVEREIGN_ALLOW_DIRS), else this run's outputs (a
    results_dir pointed elsewhere is read, never written)."""
    folder = next((d for d in results_dirs if not any(ch in str(d) for ch in "*?[")), project_path("results"))
    for root in [project_path("results"), *writable_roots()]:
        try:
            return confine(folder, root, "sweep.results_dir")
        except PathEscapeError:
            continue
    log.warning("sweep.results_dir %s lies outside results/ and the store: the live GPU results are written under "
                "this run's outputs instead (%s); add the folder to $SOVEREIGN_ALLOW_DIRS to write there", folder,
                out_dir / "sweep")
    return out_dir / "sweep"
