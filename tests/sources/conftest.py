"""Fixtures the Telegram source tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.store import Store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A fresh SQLite archive for the listener to write into."""
    s = await Store.open(tmp_path / "wirewatch.db")
    yield s
    await s.close()
