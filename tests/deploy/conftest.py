"""Fixtures for tests/deploy: import the deployments module without leaking its env defaults."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def _deployments_imported_cleanly():
    """flows.deployments applies the project's env defaults on import (as flows/main.py does); undo that here."""
    saved = dict(os.environ)
    import flows.deployments  # noqa: F401

    os.environ.clear()
    os.environ.update(saved)
