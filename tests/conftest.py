"""Shared fixtures. Keep each small; add yours below with a line saying what it is for."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.origin import Origin
from tests.postgres import postgres_url  # noqa: F401  (a fresh PostgreSQL schema per test)


@pytest.fixture
async def origin() -> AsyncIterator[Origin]:
    """A scriptable HTTP server on 127.0.0.1 (see tests/origin.py)."""
    async with Origin() as server:
        yield server
