"""Config YAML files parsed once per process and file version.

A run reads the same few model, hardware and decoding files about 260 times (the sweep, the empirical checks, the
flagship answer and the report each load their specs); parsing them with PyYAML cost about 0.4 s of a re-run.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml


def read_yaml(path: str | Path) -> Any:
    """The parsed content of ``path``, as ``yaml.safe_load`` gives it: a fresh copy (callers may change it), read
    again when the file's size or modification time changes. Errors (OSError, yaml.YAMLError) are raised as before."""
    stat = Path(path).stat()
    return copy.deepcopy(_parsed(str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size))


@lru_cache(maxsize=256)
def _parsed(path: str, _mtime_ns: int, _size: int) -> Any:
    return yaml.safe_load(Path(path).read_text())
