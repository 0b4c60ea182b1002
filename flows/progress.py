"""Console progress for the main job: one line per stage with its wall time, mirrored into the Prefect run's logs.

``console`` is a rich console on stderr. Inside a Prefect flow or task run every line printed through it is also
sent, as plain text, to the run's logger, so the Logs tab of a run started from the UI shows the stage progress,
the warnings and the final answer. Outside a run (tests, plain functions) it is just the rich console.
"""

from __future__ import annotations

import io
import logging
import sys
import time
from contextlib import contextmanager
from typing import Any, Iterator

from rich.console import Console

WIDTH = 100  # tables and panels are laid out to fit a 100-column terminal


def _run_logger() -> logging.Logger | logging.LoggerAdapter | None:
    """The Prefect run logger when called inside a flow or task run; prefect is never imported for this."""
    context = sys.modules.get("prefect.context")
    if context is None or not (context.FlowRunContext.get() or context.TaskRunContext.get()):
        return None
    try:
        from prefect.logging import get_run_logger

        return get_run_logger()
    except Exception:  # noqa: BLE001 - MissingContextError and friends: no run to log to
        return None


def plain_text(objects: tuple[Any, ...], markup: bool = True) -> str:
    """What ``console.print(*objects)`` shows, without colours, at WIDTH columns (for logs)."""
    buffer = io.StringIO()
    Console(file=buffer, width=WIDTH, color_system=None, highlight=False, soft_wrap=True).print(*objects, markup=markup)
    return buffer.getvalue().rstrip("\n")


class RunConsole:
    """A rich console whose printed lines also reach the Prefect run's logs (warnings as WARNING)."""

    def __init__(self) -> None:
        self.rich = Console(stderr=True, highlight=False)
        if not self.rich.is_terminal:  # a pipe, a file, a worker's log: lay out at WIDTH, not rich's 80-column default
            self.rich.width = WIDTH

    def print(self, *objects: Any, **kwargs: Any) -> None:
        self.rich.print(*objects, **kwargs)
        logger = _run_logger()
        if logger is not None and objects:
            text = plain_text(objects, markup=kwargs.get("markup", True) is not False)
            level = logging.WARNING if text.lstrip().startswith(("⚠", "✗", "error")) else logging.INFO
            logger.log(level, text)

    def __getattr__(self, name: str) -> Any:  # status(), width, file, ... as on rich's Console
        return getattr(self.rich, name)


console = RunConsole()


class StageTimer:
    """Collects ``seconds_<stage>`` metrics while printing stage status lines."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str, detail: str = "") -> Iterator[dict]:
        note: dict = {}
        started = time.perf_counter()
        with console.rich.status(f"[bold cyan]{name}[/] {detail}"):
            try:
                yield note
            except BaseException:
                console.print(f"[red]✗ {name}[/] failed after {time.perf_counter() - started:.1f}s")
                raise
        elapsed = time.perf_counter() - started
        self.seconds[f"seconds_{name}"] = round(elapsed, 3)
        console.print(f"[green]✓ {name}[/] {elapsed:.1f}s {note.get('summary', '')}")
