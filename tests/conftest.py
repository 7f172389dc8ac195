"""Shared fixtures. Keep each small; add yours below with a line saying what it is for."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from tests.origin import Origin


@pytest.fixture
async def origin() -> AsyncIterator[Origin]:
    """A scriptable HTTP server on 127.0.0.1 (see tests/origin.py)."""
    async with Origin() as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh_reader_caches() -> None:
    """Under mutmut only: empty the reader's memo caches before each test, so a mutant's
    code runs instead of answers the unmutated code cached before the mutant was set."""
    if "MUTANT_UNDER_TEST" not in os.environ:
        return
    from bot.read.lenient import read_date
    from bot.read.parse import _authors
    from bot.read.timestamps import match_when

    for cached in (match_when, read_date, _authors):
        cached.cache_clear()
