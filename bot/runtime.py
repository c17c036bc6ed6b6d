"""Small shared pieces of the command line and the service: opening the store, output helpers."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bot.settings import Settings
from storage.db import StorageError
from storage.store import Store


@asynccontextmanager
async def open_store(settings: Settings, *, must_exist: bool = False) -> AsyncIterator[Store]:
    """`must_exist` for commands that only read: a typo in --db should not create a new file."""
    if must_exist and str(settings.db) != ":memory:" and not Path(settings.db).exists():
        raise StorageError(f"no database at {settings.db} (import or run something first)")
    store = await Store.open(settings.db)
    try:
        yield store
    finally:
        await store.close()


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")
