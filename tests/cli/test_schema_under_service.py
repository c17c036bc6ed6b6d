"""After `pip install` of a newer wirewatch, the service of the older one may still be running.
The owner's commands must not migrate the database underneath it (the older code would go on
writing tables it does not know): a command is refused, saying which process holds the file
and what to do, until the service is restarted; then the first command migrates it as
before. Two real processes: the older service is `wirewatch run` that knows every migration
but the last, and the commands are this wirewatch's CLI."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from storage.access import holder
from storage.db import migrations
from tests.cli.test_read_only import _one_version_behind
from tests.fakebot import FakeBotAPI
from tests.service.support import Service, free_port, post_line, service_env

# The service of the wirewatch before the upgrade: this code, one migration short.
OLDER_SERVICE = """import sys
import storage.db
known = storage.db.migrations()
storage.db.migrations = lambda: known[:-1]
from bot.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def version(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def wirewatch(db: Path, *argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """This wirewatch's command line, in a process of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli.main", "--db", str(db), *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def older_service(db: Path, tmp_path: Path, api: FakeBotAPI) -> Service:
    feed = tmp_path / "feed.jsonl"
    feed.write_text(post_line(1) + "\n", encoding="utf-8")
    port = free_port()
    env = service_env(db, bot_url=api.url, health_port=port)
    log = tmp_path / "older.log"
    script = tmp_path / "older_wirewatch.py"
    script.write_text(OLDER_SERVICE, encoding="utf-8")
    with log.open("ab") as handle:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(script),
            "run",
            "--feed",
            str(feed),
            cwd=tmp_path,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=handle,
            stderr=handle,
            start_new_session=True,
        )
    return Service(proc, log, port)


@pytest.mark.slow
async def test_a_newer_command_does_not_migrate_the_database_under_a_running_older_service(
    tmp_path: Path,
) -> None:
    db = tmp_path / "w.db"
    latest = _one_version_behind(db)
    assert latest == migrations()[-1][0]
    async with FakeBotAPI() as api:
        svc = await older_service(db, tmp_path, api)
        try:
            await svc.wait_ready()
            assert holder(db) == svc.proc.pid
            for argv in (["sources", "list"], ["search", "енергосистема"], ["rules", "add", "x"]):
                done = await asyncio.to_thread(wirewatch, db, *argv, cwd=tmp_path)
                assert done.returncode == 2, (argv, done.stdout, done.stderr)
                said = done.stderr.strip()
                assert "\n" not in said and "Traceback" not in said
                assert f"has schema version {latest - 1}" in said
                assert f"pid {svc.proc.pid}: python" in said and "older_wirewatch.py run" in said
                assert "restart the service" in said.lower()
                assert version(db) == latest - 1
            # The older service goes on as it was: still serving, its schema its own.
            assert (await svc.health()) is not None
        finally:
            code, _ = await svc.terminate()
        assert code == 0, svc.log.read_text()[-3000:]
    assert holder(db) is None
    # The service stopped: the owner's first command brings the schema up, as before.
    done = await asyncio.to_thread(wirewatch, db, "sources", "list", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "brought up to this wirewatch's schema" in done.stderr
    assert version(db) == latest


def test_this_process_own_connection_is_not_another_process(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (x)")
        assert holder(db) is None
    assert holder(tmp_path / "missing.db") is None
