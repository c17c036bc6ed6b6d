"""A SQLite deployment never loads the PostgreSQL driver: asyncpg costs a few hundred
milliseconds of start-up (`python -X importtime`) and is only needed for a `postgresql://`
WIREWATCH_DB."""

from __future__ import annotations

import subprocess
import sys

PROGRAM = """
import asyncio, sys, tempfile, pathlib
import bot.cli.main, bot.service.app, storage.store
from storage.store import Store

async def main():
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(pathlib.Path(tmp) / "w.db")
        await store.posts.count()
        await store.close()

asyncio.run(main())
print("asyncpg" in sys.modules)
"""


def test_sqlite_never_imports_asyncpg() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "False", out.stderr


def test_a_postgres_url_still_finds_the_driver() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import storage.postgres.store, sys; print('asyncpg' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout.strip() == "True", out.stderr
