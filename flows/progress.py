"""Console progress for the main job: one line per stage with its wall time."""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator

from rich.console import Console

console = Console(stderr=True, highlight=False)


class StageTimer:
    """Collects ``seconds_<stage>`` metrics while printing stage status lines."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str, detail: str = "") -> Iterator[dict]:
        note: dict = {}
        started = time.perf_counter()
        with console.status(f"[bold cyan]{name}[/] {detail}"):
            try:
                yield note
            except BaseException:
                console.print(f"[red]✗ {name}[/] failed after {time.perf_counter() - started:.1f}s")
                raise
        elapsed = time.perf_counter() - started
        self.seconds[f"seconds_{name}"] = round(elapsed, 3)
        console.print(f"[green]✓ {name}[/] {elapsed:.1f}s {note.get('summary', '')}")
