"""One SQLite database is served by one `wirewatch run`. A second one started on it (an
operator's terminal beside the systemd unit) polled the bot against the first in a loop and
delivered the same outbox, which can send an alert twice; now it stops at once, saying which
process serves the database and what to do, and the first goes on. Two real processes."""

from __future__ import annotations

import asyncio
import fcntl
import os
import sys
from pathlib import Path

import pytest

from tests.fakebot import FakeBotAPI
from tests.service.support import free_port, post_line, provision, service_env, start_service


@pytest.mark.slow
async def test_a_second_service_on_the_same_sqlite_database_stops_and_says_why(
    tmp_path: Path,
) -> None:
    db, feed = tmp_path / "w.db", tmp_path / "feed.jsonl"
    await provision(db)
    feed.write_text(post_line(1) + "\n", encoding="utf-8")
    async with FakeBotAPI() as api:
        first_port = free_port()
        env = service_env(db, bot_url=api.url, health_port=first_port)
        first = await start_service(env, tmp_path, [feed], tmp_path / "first.log", first_port)
        try:
            await first.wait_ready()
            second_env = service_env(db, bot_url=api.url, health_port=free_port())
            second = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot.cli.main",
                "run",
                "--feed",
                str(feed),
                cwd=tmp_path,
                env=second_env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
            try:
                # Bounded, not timed: the old code served on until killed.
                _, err = await asyncio.wait_for(second.communicate(), timeout=90)
            finally:
                if second.returncode is None:
                    second.kill()
                    await second.wait()
            said = err.decode().strip()
            assert second.returncode == 2, said
            assert "\n" not in said and "Traceback" not in said
            assert f"is served by another `wirewatch run` (pid {first.proc.pid}: " in said
            assert "stop that one first" in said
            # The first one is untouched: still serving.
            assert (await first.health()) is not None
            assert first.proc.returncode is None
        finally:
            code, _ = await first.terminate()
        assert code == 0, first.log.read_text()[-3000:]
    # Its lock went with it: the next start is not refused.
    lock = db.with_name(db.name + ".run.lock")
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(fd)
