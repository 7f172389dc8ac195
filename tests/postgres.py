"""A fresh PostgreSQL schema per test, for the PostgreSQL store and the job queue.

The server comes from STORYBOT_TEST_POSTGRES (default postgresql://postgres@127.0.0.1:5432/test).
Unreachable: the test is skipped with the reason, except under CI (env CI set), where it fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import psycopg
import pytest

from bot.redact import display_url

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


def server_url() -> str:
    return os.environ.get("STORYBOT_TEST_POSTGRES", DEFAULT_URL)


def with_schema(url: str, schema: str) -> str:
    """`url` whose connections see `schema` first: procrastinate's tables land there."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A postgresql:// URL on a schema made for this test and dropped after it."""
    url = server_url()
    schema = f"storybot_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as err:
        where = display_url(url)
        if os.environ.get("CI"):
            pytest.fail(
                f"PostgreSQL at {where} is unreachable under CI (a skipped backend is a failure): {err}"
            )
        pytest.skip(f"PostgreSQL at {where} is unreachable (set STORYBOT_TEST_POSTGRES): {err}")
    with admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield with_schema(url, schema)
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
