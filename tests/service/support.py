"""Helpers for the tests that run `wirewatch run` as a real subprocess (crash, SIGTERM, health).

No tests here. The service under test talks only to 127.0.0.1: the fake Bot API of
tests/fakebot.py and its own health port.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from bot.matching import parse_rule, rule_to_json
from storage.store import Store
from tests.fakebot import DEFAULT_TOKEN

CHANNEL = "regional_admin"
RULE = "енергосистема"
START = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post_line(n: int, *, text: str | None = None) -> str:
    """A feed line for message `n` of our test channel; every text matches RULE."""
    body = text or (
        f"Оновлення номер {n}: енергосистема області працює стабільно, "
        f"ремонтні бригади відновили живлення ще для {n % 40 + 3} громад."
    )
    when = START + timedelta(minutes=n)
    return json.dumps(
        {"channel": CHANNEL, "id": n, "date": when.isoformat(), "text": body}, ensure_ascii=False
    )


async def provision(
    db: Path | str, *, people: tuple[int, ...] = (5001,), sources: Sequence[str] = ()
) -> None:
    """The journalists, the desk rule and any `sources`, written through storage before the
    service starts (a SQLite path or a PostgreSQL URL)."""
    store = await Store.open(db)
    try:
        for user_id in people:
            await store.people.add(role="journalist", user_id=user_id, lang="uk")
        await store.rules.add(RULE, rule_to_json(parse_rule(RULE)))
        for username in sources:
            await store.sources.upsert(username)
    finally:
        await store.close()


def service_env(
    db: Path, *, bot_url: str | None, health_port: int, **extra: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
    env.update(
        WIREWATCH_DB=str(db),
        WIREWATCH_HEALTH_PORT=str(health_port),
        WIREWATCH_LOG_LEVEL="INFO",
        WIREWATCH_BOT__CHAT_INTERVAL="0",
        WIREWATCH_BOT__GLOBAL_RATE="1000",
        PYTHONUNBUFFERED="1",
    )
    if bot_url is not None:
        env.update(WIREWATCH_BOT__TOKEN=DEFAULT_TOKEN, WIREWATCH_BOT__API_URL=bot_url)
    env.update(extra)
    return env


@dataclass
class Service:
    proc: asyncio.subprocess.Process
    log: Path
    port: int

    async def health(self, within: float = 2.0) -> tuple[int, dict[str, Any]] | None:
        url = f"http://127.0.0.1:{self.port}/healthz"
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=within)) as session,
                session.get(url) as resp,
            ):
                return resp.status, await resp.json()
        except (aiohttp.ClientError, TimeoutError, json.JSONDecodeError):
            return None

    async def wait_ready(self, within: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.proc.returncode is not None:
                raise AssertionError(f"service exited early:\n{self.log.read_text()[-3000:]}")
            got = await self.health()
            if got is not None:
                return got[1]
            await asyncio.sleep(0.1)
        raise AssertionError(f"service not ready in {within}s:\n{self.log.read_text()[-3000:]}")

    async def wait_for(self, check: Any, within: float = 60.0) -> dict[str, Any]:
        """Poll /healthz until check(body) is true."""
        deadline = time.monotonic() + within
        body: dict[str, Any] = {}
        while time.monotonic() < deadline:
            got = await self.health()
            if got is not None:
                body = got[1]
                if check(body):
                    return body
            await asyncio.sleep(0.2)
        raise AssertionError(f"condition not reached in {within}s; last health: {body}")

    async def terminate(self, within: float = 10.0) -> tuple[int, float]:
        """SIGTERM; (exit code, seconds it took)."""
        began = time.monotonic()
        self.proc.terminate()
        try:
            code = await asyncio.wait_for(self.proc.wait(), timeout=within + 5)
        finally:
            if self.proc.returncode is None:
                self.proc.kill()
                await self.proc.wait()
        return code, time.monotonic() - began

    async def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        await self.proc.wait()


async def start_service(
    env: dict[str, str],
    cwd: Path,
    feeds: list[Path],
    log: Path,
    port: int,
    *,
    role: str = "all",
    extra: list[str] | None = None,
) -> Service:
    args = [sys.executable, "-m", "bot.cli.main", "run", "--role", role, *(extra or [])]
    for feed in feeds:
        args += ["--feed", str(feed)]
    handle = open(log, "ab")  # noqa: SIM115, ASYNC230 - the child's log; tiny
    try:
        proc = await asyncio.create_subprocess_exec(
            *args,
            cwd=cwd,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=handle,
            stderr=handle,
            start_new_session=True,  # a signal to the test's group never reaches the child
        )
    finally:
        handle.close()
    return Service(proc, log, port)
