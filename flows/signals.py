"""SIGTERM ends a run promptly: the main thread unwinds (research's ``finally`` marks the run FAILED), then the
process exits even while a worker thread is still computing; a watchdog exits after a grace period in any case."""

from __future__ import annotations

import os
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Iterator

TERM_GRACE_S = 10.0  # time the main thread gets to mark the run FAILED before the process exits regardless
EXIT_TERMINATED = 143  # 128 + SIGTERM, what a shell reports for a process ended by SIGTERM


class Terminated(BaseException):
    """SIGTERM arrived; a BaseException so that no ``except Exception`` in a stage swallows it."""


def _exit_now(code: int = EXIT_TERMINATED) -> None:
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


@contextmanager
def terminate_promptly(grace_s: float = TERM_GRACE_S) -> Iterator[None]:
    """Within the block, SIGTERM unwinds the main thread and then ends the process, within ``grace_s`` at most.

    Python runs signal handlers in the main thread, and a library may swap its own in meanwhile (Prefect's flow
    engine raises its TerminationSignal, then waits for its task threads to finish their work). So the C-level
    wakeup fd tells a watcher thread that SIGTERM arrived, whichever handler is current: it starts a watchdog
    that ends the process after ``grace_s``. When the block is left by that signal (``finally`` blocks ran, the
    run is marked FAILED) the process exits at once with ``os._exit`` instead of waiting for worker threads.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = threading.Event()

    def arm() -> None:
        if not received.is_set():
            received.set()
            watchdog = threading.Timer(grace_s, _exit_now)
            watchdog.daemon = True
            watchdog.start()

    def on_term(signum, frame):
        arm()
        raise Terminated("SIGTERM")

    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)

    def watch() -> None:
        try:
            while data := os.read(read_fd, 64):  # empty once the block closes the write end
                if signal.SIGTERM in data:
                    arm()
        except OSError:
            pass
        finally:
            os.close(read_fd)

    previous = signal.signal(signal.SIGTERM, on_term)
    previous_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    threading.Thread(target=watch, name="sigterm-watch", daemon=True).start()
    try:
        yield
    except BaseException:
        if received.is_set():  # whichever handler raised (ours, or Prefect's TerminationSignal), the run is over
            print("terminated (SIGTERM): the run was marked FAILED; exiting", file=sys.stderr)
            _exit_now()
        raise
    finally:
        if received.is_set():
            _exit_now()
        signal.set_wakeup_fd(previous_fd)
        signal.signal(signal.SIGTERM, previous)
        os.close(write_fd)
