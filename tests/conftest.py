"""Shared fixtures. Tests never reach Telegram: the Bot API is a local fake, Telethon sees TL
objects we build."""

from __future__ import annotations

import os

# An operator's shell may carry WIREWATCH_* variables; tests start from the defaults. Variables
# that steer the tests themselves (not the service) are kept.
TEST_VARIABLES = frozenset(
    {
        "WIREWATCH_CRASH_SEED",
        "WIREWATCH_CRASH_FULL",
        "WIREWATCH_CRASH_POSTS",
        "WIREWATCH_CRASH_CHANNELS",
        "WIREWATCH_CRASH_KILLS",
    }
)
for _key in [k for k in os.environ if k.startswith("WIREWATCH_") and k not in TEST_VARIABLES]:
    del os.environ[_key]

import asyncio  # noqa: E402
import itertools  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import asyncpg  # noqa: E402
import pytest  # noqa: E402

# aiogram imported and its types built as the service does (bot/delivery/lazy_types.py), before
# any test imports it.
from bot.delivery.lazy_types import warm  # noqa: E402
from tests import pg  # noqa: E402

warm()

_pg_server: pg.PgServer | None = None
_schemas = itertools.count(1)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[pg.PgServer]:
    """One PostgreSQL server for the whole session (started on first use)."""
    global _pg_server
    _pg_server = pg.start()
    yield _pg_server
    _pg_server.stop()


async def _create_schema(url: str, schema: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
    finally:
        await conn.close()


@pytest.fixture
def pg_url(pg_server: pg.PgServer) -> str:
    """A `postgresql://` URL to an empty schema of its own; skips, saying why, without a server."""
    if pg_server.url is None:
        pytest.skip(f"PostgreSQL unavailable: {pg_server.reason}")
    schema = f"t{os.getpid()}_{next(_schemas)}"
    # Sync, so sync and async fixtures alike can ask for it: its own loop in its own thread.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _create_schema(pg_server.url, schema)).result()
    # asyncpg passes unknown URL parameters on as server settings.
    return f"{pg_server.url}?search_path={schema}"


@pytest.fixture(params=["sqlite", "postgres"])
def new_db(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], str]:
    """Makes empty databases on one back end per run of the test: SQLite files, or PostgreSQL
    schemas (skipped, saying why, when no server can start)."""
    names = itertools.count(1)
    if request.param == "sqlite":
        return lambda: str(tmp_path / f"db{next(names)}.sqlite")
    server: pg.PgServer = request.getfixturevalue("pg_server")
    first = str(request.getfixturevalue("pg_url"))
    made = [first]

    def make() -> str:
        if next(names) == 1:
            return first
        schema = f"t{os.getpid()}_{next(_schemas)}"
        assert server.url is not None
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, _create_schema(server.url, schema)).result()
        made.append(f"{server.url}?search_path={schema}")
        return made[-1]

    return make


@pytest.fixture(params=["sqlite", "postgres"])
def db_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a test's Store lives: a SQLite file, or a PostgreSQL schema (both back ends)."""
    if request.param == "sqlite":
        return str(tmp_path / "w.db")
    return str(request.getfixturevalue("pg_url"))


# Under pytest-xdist (`make test` runs two workers) each worker starts its own server; the
# controller prints their outcomes, handed over when a worker finishes.
_worker_servers: list[tuple[str | None, str]] = []


def pytest_sessionfinish(session: pytest.Session) -> None:
    handover = getattr(session.config, "workeroutput", None)
    if handover is not None and _pg_server is not None:
        handover["pg_server"] = (_pg_server.url, _pg_server.reason)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    got = getattr(node, "workeroutput", {}).get("pg_server")
    if got is not None:
        _worker_servers.append((got[0], got[1]))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    # Said out loud, so a run where PostgreSQL could not start is never mistaken for a pass.
    servers = list(_worker_servers)
    if _pg_server is not None:
        servers.append((_pg_server.url, _pg_server.reason))
    for url, reason in servers:
        if url is None:
            terminalreporter.write_line(
                f"PostgreSQL tests SKIPPED: {reason}", yellow=True, bold=True
            )
        else:
            terminalreporter.write_line(f"PostgreSQL tests ran against {url}")
