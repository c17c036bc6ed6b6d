"""Fixtures the Telegram source tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from storage.store import Store


@pytest.fixture
async def store(db_target: str) -> AsyncIterator[Store]:
    """A fresh archive, SQLite or PostgreSQL (`db_target`), for the listener to write into."""
    s = await Store.open(db_target)
    yield s
    await s.close()
