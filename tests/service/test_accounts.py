"""Several listener accounts in the service: one process per account (a second one waits for
the lease), each reading only the channels assigned to it; `doctor`, `accounts list` and
`sources assign` show and change it. On SQLite and PostgreSQL where both make sense."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.cli.main import main
from bot.service.accounts import AccountRunner, rebalance
from bot.service.app import App
from bot.settings import AccountSettings, Settings
from sources.telegram.config import TelegramSettings
from storage.store import Store


def _settings(db: str, tmp_path: Path, **accounts: int) -> Settings:
    return Settings(
        db=db,
        health_port=0,
        telegram=TelegramSettings(lease_ttl=30, assign_interval=0.2),
        accounts={
            name: AccountSettings(
                api_id=1,
                api_hash=SecretStr("0" * 32),
                session=tmp_path / f"{name}.session",
                max_channels=limit,
            )
            for name, limit in accounts.items()
        },
    )


async def test_a_second_process_for_one_account_waits_for_the_first(
    pg_url: str, tmp_path: Path
) -> None:
    # Two processes on one session get it revoked (AUTH_KEY_DUPLICATED): the lease in the
    # database keeps the second out wherever it runs; it stands by and takes over at the end.
    settings = _settings(pg_url, tmp_path, alpha=500, beta=500)
    first = App(settings, role="listener", account="alpha")
    await first.start()
    second = App(settings, role="listener", account="alpha")
    waiting = asyncio.create_task(second.start())
    try:
        await asyncio.sleep(2.5)
        assert not waiting.done() and second.runner is None
        assert first.runner is not None and first.runner.name == "alpha"
        leases = {x.account: x for x in await first.store.accounts.leases()}  # type: ignore[union-attr]
        assert leases["alpha"].holder == first.runner.holder
        await first.shutdown()
        async with asyncio.timeout(15):
            await waiting
        assert second.runner is not None
    finally:
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        await second.shutdown()
        await first.shutdown()


async def test_the_account_runner_reads_its_channels_and_hands_moves_over(
    db_target: str, tmp_path: Path
) -> None:
    settings = _settings(db_target, tmp_path, alpha=3, beta=3)
    store = await Store.open(db_target)
    try:
        ids = [(await store.sources.ensure(f"chan_{n}")).id for n in range(5)]
        alpha, beta = (
            AccountRunner(store, settings, "alpha"),
            AccountRunner(store, settings, "beta"),
        )
        assert await alpha.take() is None
        read_a, _ = await alpha.look()
        assert await beta.take() is None
        read_b, _ = await beta.look()
        assert read_a | read_b == set(ids) and not read_a & read_b
        assert len(read_a) == 3 and len(read_b) == 2  # alpha first: most room, then by name
        # Healthy accounts keep their channels: looking again moves nothing.
        assert await rebalance(store, settings) == []
        # An editor pins one of alpha's channels to beta: beta waits until alpha let go.
        moving = sorted(read_a)[0]
        await store.accounts.assign(moving, "beta", pinned=True)
        read_b2, _ = await beta.look()
        assert moving not in read_b2
        read_a2, drop = await alpha.look()
        assert drop == {moving} and moving not in read_a2
        await alpha.let_go(drop)
        read_b3, _ = await beta.look()
        assert moving in read_b3
        # alpha fails: its channels go to beta as far as beta's limit allows.
        await store.accounts.set_failed("alpha", "banned")
        read_b4, _ = await beta.look()
        assert len(read_b4) == 3 and read_b3 <= read_b4
        rows = {r.source_id: r for r in await store.accounts.assignments()}
        assert sum(1 for r in rows.values() if r.account is None) == 2  # no room anywhere
    finally:
        await store.close()


def test_cli_assigns_a_channel_and_lists_the_accounts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "w.db")
    for name in ("ALPHA", "BETA"):
        monkeypatch.setenv(f"WIREWATCH_ACCOUNTS__{name}__API_ID", "7")
        monkeypatch.setenv(f"WIREWATCH_ACCOUNTS__{name}__API_HASH", "0" * 32)
    monkeypatch.setenv("WIREWATCH_ACCOUNTS__BETA__MAX_CHANNELS", "1000")
    assert main(["sources", "add", "@mayor_news", "--db", db]) == 0
    assert main(["sources", "assign", "@mayor_news", "beta", "--db", db]) == 0
    assert main(["sources", "assign", "@mayor_news", "gamma", "--db", db]) == 2
    assert "no account 'gamma'" in capsys.readouterr().err
    assert main(["accounts", "list", "--json", "--db", db]) == 0
    listed = json.loads(capsys.readouterr().out)
    beta = next(a for a in listed["accounts"] if a["account"] == "beta")
    assert beta["channels"] == 1 and beta["pinned"] == 1 and beta["max_channels"] == 1000
    assert main(["accounts", "fail", "alpha", "number lost", "--db", db]) == 0
    assert main(["accounts", "list", "--db", db]) == 0
    assert "number lost" in capsys.readouterr().out
    assert main(["doctor", "--db", db]) in (0, 1)
    out = capsys.readouterr().out
    assert "account alpha" in out and "account beta" in out and "assignment" in out
    # a listener process of a split must say which account it runs
    monkeypatch.setenv("WIREWATCH_DB", "postgresql://nobody@127.0.0.1:1/none")
    assert main(["run", "--role", "listener"]) == 2
    assert "--account" in capsys.readouterr().err


async def test_the_sources_file_pins_a_channel_to_an_account(db_target: str) -> None:
    from bot.desk.sources_file import apply_sources, parse_sources
    from storage.records import SourceError

    specs = parse_sources(
        '[[source]]\nusername = "mayor_news"\naccount = "beta"\n'
        '[[source]]\nusername = "oblast_news"\n'
    )
    store = await Store.open(db_target)
    try:
        await apply_sources(store, specs)
        rows = {r.username: r for r in await store.accounts.assignments()}
        assert rows["mayor_news"].account == "beta" and rows["mayor_news"].pinned
        assert rows["oblast_news"].account is None and not rows["oblast_news"].pinned
    finally:
        await store.close()
    with pytest.raises(SourceError, match="account"):
        parse_sources('[[source]]\nusername = "x_news"\naccount = "Beta Team"\n')


class _Listener:
    """What run_account asks of the listener: the channel set it reads."""

    def __init__(self) -> None:
        self.allowed: frozenset[int] | None = None
        self.sets: list[frozenset[int]] = []

    async def reassign(self, ids: object) -> None:
        self.allowed = frozenset(ids)  # type: ignore[arg-type]
        self.sets.append(self.allowed)


async def _until(check: object, within: float = 20.0) -> None:
    async with asyncio.timeout(within):
        while not check():  # type: ignore[operator]  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def test_a_listener_stops_reading_when_its_lease_is_taken_or_not_renewed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.service.accounts import run_account
    from storage.db import StorageError

    settings = _settings(str(tmp_path / "w.db"), tmp_path, alpha=5)
    store = await Store.open(settings.db)
    stop = asyncio.Event()
    try:
        ids = {(await store.sources.ensure(f"chan_{n}")).id for n in range(3)}
        runner = AccountRunner(store, settings, "alpha")
        assert await runner.take() is None
        listener = _Listener()
        task = asyncio.create_task(run_account(runner, listener, stop))  # type: ignore[arg-type]
        await _until(lambda: listener.allowed == ids)
        # Another process wrote itself into the lease: read nothing until it is ours again.
        await store.accounts.take("alpha", "pid 2 on elsewhere", 30)
        await _until(lambda: frozenset() in listener.sets)
        await _until(lambda: listener.allowed == ids)  # taken back (SQLite: no other holder)
        # The database stops answering the renewal: at 3/4 of the lease, nothing is read.
        listener.sets.clear()

        async def down(*_: object) -> bool:
            raise StorageError("database is down")

        monkeypatch.setattr(store.accounts, "renew", down)
        runner.renewed -= settings.telegram.lease_ttl
        await _until(lambda: listener.allowed == frozenset())
        await asyncio.sleep(1.0)  # the assignment loop does not turn reading back on
        assert listener.allowed == frozenset()
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)
        await store.close()


async def test_doctor_shows_every_accounts_lease(
    pg_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from telethon.crypto import AuthKey
    from telethon.sessions import SQLiteSession

    for name in ("alpha", "beta", "gamma"):
        session = tmp_path / f"{name}.session"
        # What `wirewatch login` leaves: a session holding its key (doctor reports an empty
        # one as never signed in).
        signed = SQLiteSession(str(session))
        signed.auth_key = AuthKey(bytes(256))
        signed.save()
        signed.close()
        session.chmod(0o600)
        monkeypatch.setenv(f"WIREWATCH_ACCOUNTS__{name.upper()}__API_ID", "7")
        monkeypatch.setenv(f"WIREWATCH_ACCOUNTS__{name.upper()}__API_HASH", "0" * 32)
        monkeypatch.setenv(f"WIREWATCH_ACCOUNTS__{name.upper()}__SESSION", str(session))
    settings = _settings(pg_url, tmp_path, alpha=500, beta=500, gamma=500)
    store = await Store.open(pg_url)
    try:
        await store.sources.ensure("mayor_news")
        alpha = AccountRunner(store, settings, "alpha")
        assert await alpha.take() is None  # this process holds alpha's lease
        await store.accounts.take("beta", "pid 9 on gone-host", -30)  # expired 30 s ago
        await rebalance(store, settings)
        code = await asyncio.to_thread(main, ["doctor", "--db", pg_url])
    finally:
        await store.close()
    lines = {
        line.split()[2]: line
        for line in capsys.readouterr().out.splitlines()
        if line.split()[1:2] == ["account"]
    }
    assert "lease held by pid" in lines["alpha"] and "server pid" in lines["alpha"]
    assert lines["alpha"].startswith("OK")
    assert "lease expired" in lines["beta"] and "gone-host" in lines["beta"]
    assert lines["beta"].startswith("FAIL") and code == 1
    assert "never run" in lines["gamma"]
