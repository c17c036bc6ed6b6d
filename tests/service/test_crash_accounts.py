"""Crash safety with several Telegram accounts on one PostgreSQL: two listener processes, each
running its own account (`wirewatch run --role listener --account alpha|beta`) with Telethon's
real client over TCP against a local MTProto server per account (tests/mtproto_server.py), and
two notifier processes. Channels are shared out by the assignment; posts are pushed live to the
accounts that joined the channel. Processes are SIGKILLed at random and restarted at once; one
listener is held down past its lease, so its channels move to the other account.

At the end: every post stored once, every alert delivered, at most one duplicate message per
kill (the fake Bot API keeps every message it accepted), and no channel read by two accounts at
once: each account's server records every history request with the time, and an account reads
a channel from its first request in a process's life until that process dies.

The sizes are bounded for `make test`; WIREWATCH_CRASH_FULL=1 runs the issue's numbers (2,000
posts, 200 channels, 20 SIGKILLs), and WIREWATCH_CRASH_POSTS / _CHANNELS / _KILLS set each.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from telethon import functions, types
from telethon.crypto import AuthKey
from telethon.sessions import SQLiteSession

from storage.store import Store
from tests.fakebot import FakeBotAPI
from tests.mtproto_server import MTProtoServer
from tests.service.support import Service, free_port, provision, service_env, start_service
from tests.service.test_crash import READY_WITHIN, crash_seed
from tests.telethon_seam import FakeChannel, FakeTelegram

FULL = os.environ.get("WIREWATCH_CRASH_FULL") == "1"
POSTS = int(os.environ.get("WIREWATCH_CRASH_POSTS", 2000 if FULL else 400))
CHANNELS = int(os.environ.get("WIREWATCH_CRASH_CHANNELS", 200 if FULL else 40))
KILLS = int(os.environ.get("WIREWATCH_CRASH_KILLS", 20 if FULL else 8))
ACCOUNTS = {"alpha": 880001, "beta": 880002}  # account name -> Telegram user id
PEOPLE = (6101, 6102)
BURST = 10  # posts per step of the writer
STEP = 0.1  # seconds between steps: ~100 posts/s
LEASE_TTL = 8  # seconds; the held-down listener stays away longer than this
ASSIGN_EVERY = 0.5
DELIVER_WITHIN = 120.0 + 0.05 * POSTS * len(PEOPLE)
TIMEOUT = int(
    (KILLS + 1) * (READY_WITHIN + 5)
    + POSTS / BURST * STEP
    + LEASE_TTL * 4
    + 2 * CHANNELS
    + 2 * DELIVER_WITHIN
    + 180
)


def _text(n: int) -> str:
    return f"Зведення {n}: енергосистема громади працює, бригади відновили лінію {n % 9 + 1}."


class AccountTelegram(FakeTelegram):
    """Telegram as one account sees it: its own access hashes and memberships. History answers
    carry the one channel asked about (Telegram's own answers do too)."""

    def __init__(self, name: str, user_id: int, reads: list[tuple[str, int, float]]) -> None:
        super().__init__()
        self.name = name
        self.reads = reads
        self.connected = True  # the socket is the connection here
        self.me = types.User(id=user_id, access_hash=user_id + 1, first_name=name, username=name)

    def answer(self, request: Any) -> Any:
        if isinstance(request, functions.messages.GetHistoryRequest):
            self.reads.append((self.name, int(request.peer.channel_id), time.monotonic()))
        return super().answer(request)

    def _history(self, req: functions.messages.GetHistoryRequest) -> Any:
        result = super()._history(req)
        result.chats = [self._channel_of(req.peer).entity]
        return result


@dataclass
class Telegram:
    """One world of channels seen by several accounts, each behind its own MTProto server."""

    views: dict[str, AccountTelegram] = field(default_factory=dict)
    servers: dict[str, MTProtoServer] = field(default_factory=dict)
    reads: list[tuple[str, int, float]] = field(default_factory=list)  # account, channel, when
    next_id: dict[int, int] = field(default_factory=dict)  # channel id -> last message id

    async def start(self, usernames: list[str]) -> None:
        for name, user_id in ACCOUNTS.items():
            view = AccountTelegram(name, user_id, self.reads)
            for n, username in enumerate(usernames):
                view.add_channel(username, 1_400_000 + n, f"Громада {n}", left=True)
            self.views[name] = view
            server = MTProtoServer(view.answer)
            await server.start()
            self.servers[name] = server
        self.next_id = dict.fromkeys(self.views["alpha"].channels, 0)

    def session(self, name: str, path: Path) -> None:
        """The session `wirewatch login` leaves: the server's auth key and address."""
        session = SQLiteSession(str(path))
        session.set_dc(2, "127.0.0.1", self.servers[name].port)
        session.auth_key = AuthKey(self.servers[name].auth_key.key)
        session.save()
        session.close()

    def post(self, channel_id: int, text: str) -> None:
        """The channel posts: every account's history has it; members get it pushed."""
        self.next_id[channel_id] += 1
        message_id = self.next_id[channel_id]
        for name, view in self.views.items():
            channel: FakeChannel = view.channels[channel_id]
            message = view.message(channel, message_id, text, date=datetime.now(UTC))
            if not view.is_member(channel):
                channel.messages[message_id] = message
                continue
            update = view.new_update(channel, message)
            self.servers[name].push(
                types.Updates(
                    updates=[update],
                    users=[],
                    chats=[channel.entity],
                    date=datetime.now(UTC),
                    seq=0,
                )
            )

    async def stop(self) -> None:
        for server in self.servers.values():
            await server.stop()


def overlaps(
    reads: list[tuple[str, int, float]], lives: dict[str, list[tuple[float, float]]]
) -> list[str]:
    """Channels two accounts read at once. An account reads a channel from its first history
    request in a process's life until that process ends (a killed process reads nothing)."""
    spans: dict[int, list[tuple[float, float, str]]] = defaultdict(list)
    for account, runs in lives.items():
        for began, ended in runs:
            first: dict[int, float] = {}
            for who, channel, at in reads:
                if who == account and began <= at <= ended:
                    first.setdefault(channel, at)
            for channel, at in first.items():
                spans[channel].append((at, ended, account))
    found = []
    for channel, items in spans.items():
        items.sort()
        for (a0, a1, who_a), (b0, _, who_b) in itertools.pairwise(items):
            if who_a != who_b and b0 < a1:
                found.append(f"channel {channel}: {who_a} {a0:.1f}-{a1:.1f}, {who_b} {b0:.1f}-")
    return found


@pytest.mark.slow
@pytest.mark.timeout(TIMEOUT)
async def test_two_accounts_and_two_notifiers_survive_sigkills(
    tmp_path: Path, pg_url: str
) -> None:
    seed = crash_seed()
    rng = random.Random(seed)
    print(f"accounts crash test seed {seed} (set WIREWATCH_CRASH_SEED to replay)")
    usernames = [f"hromada_{n:03d}_news" for n in range(CHANNELS)]
    await provision(pg_url, people=PEOPLE, sources=usernames)
    telegram = Telegram()
    await telegram.start(usernames)
    # One post per channel before anyone listens: a channel's first look back is stored
    # without alerts, so every post after it must alert.
    for channel_id in telegram.next_id:
        telegram.post(channel_id, f"Громада {channel_id}: розклад прийому громадян.")
    account_env: dict[str, str] = {
        "WIREWATCH_TELEGRAM__LEASE_TTL": str(LEASE_TTL),
        "WIREWATCH_TELEGRAM__ASSIGN_INTERVAL": str(ASSIGN_EVERY),
        "WIREWATCH_TELEGRAM__REQUEST_PAUSE": "0",
        "WIREWATCH_TELEGRAM__POLL_INTERVAL": "2",
        "WIREWATCH_CAPTURE__OCR": "false",
    }
    for name in ACCOUNTS:
        session = tmp_path / f"{name}.session"
        telegram.session(name, session)
        account_env[f"WIREWATCH_ACCOUNTS__{name.upper()}__API_ID"] = "12345"
        account_env[f"WIREWATCH_ACCOUNTS__{name.upper()}__API_HASH"] = "0" * 32
        account_env[f"WIREWATCH_ACCOUNTS__{name.upper()}__SESSION"] = str(session)

    async with FakeBotAPI() as fakebot:
        roles: list[tuple[str, str | None]] = [
            ("listener", "alpha"),
            ("listener", "beta"),
            ("notifier", None),
            ("notifier", None),
        ]
        ports = [free_port() for _ in roles]
        runs = [0] * len(roles)
        lives: dict[str, list[tuple[float, float]]] = {name: [] for name in ACCOUNTS}
        began: dict[str, float] = {}

        async def start(i: int) -> Service:
            role, account = roles[i]
            env = service_env(Path("unused"), bot_url=fakebot.url, health_port=ports[i])
            env.update(account_env, WIREWATCH_DB=pg_url)
            runs[i] += 1
            log = tmp_path / f"{account or role}{i}-{runs[i]}.log"
            extra = ["--account", account] if account else []
            if account:
                began[account] = time.monotonic()
            return await start_service(env, tmp_path, [], log, ports[i], role=role, extra=extra)

        exited: list[str] = []

        async def kill(i: int) -> None:
            if services[i].proc.returncode is not None:
                exited.append(f"{services[i].log.name}: exit {services[i].proc.returncode}")
            await services[i].kill()
            account = roles[i][1]
            if account:
                lives[account].append((began.pop(account), time.monotonic()))

        services = [await start(i) for i in range(len(roles))]
        written = 0
        channel_ids = list(telegram.next_id)

        async def writer() -> None:
            nonlocal written
            while written < POSTS:
                for _ in range(BURST):
                    written += 1
                    telegram.post(channel_ids[written % CHANNELS], _text(written))
                await asyncio.sleep(STEP)

        writer_task: asyncio.Task[None] | None = None
        kills = 0
        failover = rng.randrange(KILLS)  # the kill whose listener stays down past its lease
        try:
            for svc in services:
                await svc.wait_ready(within=READY_WITHIN)
            await _until_stored(pg_url, CHANNELS, READY_WITHIN + 2 * CHANNELS)  # first looks
            writer_task = asyncio.create_task(writer())
            for k in range(KILLS):
                await asyncio.sleep(rng.uniform(0.3, 2.0))
                victim = rng.randrange(2) if k == failover else rng.randrange(len(services))
                await kill(victim)
                kills += 1
                if k == failover:
                    # Past the lease: the other account takes this one's channels.
                    await asyncio.sleep(LEASE_TTL + 4 * ASSIGN_EVERY + 2)
                services[victim] = await start(victim)
                if rng.random() < 0.8:  # some kills land on a process still starting
                    await services[victim].wait_ready(within=READY_WITHIN)
            await writer_task
            for svc in services:
                await svc.wait_ready(within=READY_WITHIN)
            await _until_stored(pg_url, CHANNELS + POSTS, DELIVER_WITHIN)
            await _until_sent(pg_url, POSTS * len(PEOPLE), DELIVER_WITHIN)
        finally:
            if writer_task is not None:
                writer_task.cancel()
            for i, svc in enumerate(services):
                # A stopped listener reads nothing more, then its process lets its channels go
                # as it exits, and the other account, still running, takes them at once: its
                # life ends, for `overlaps`, when it was told to stop, not when it had exited.
                told = time.monotonic()
                await svc.terminate()
                account = roles[i][1]
                if account and account in began:
                    lives[account].append((began.pop(account), told))
            await telegram.stop()

        store = await Store.open(pg_url)
        try:
            assert await store.posts.count() == CHANNELS + POSTS, "posts lost or doubled"
            recorded: dict[int, set[int]] = {}
            for user_id in PEOPLE:
                person = await store.people.by_user_id(user_id)
                assert person is not None
                alerts = await store.alerts.for_person(person.id, limit=POSTS * 3)
                assert len(alerts) == POSTS  # one alert per post, none doubled in the outbox
                assert all(a.status == "sent" for a in alerts), "alerts not delivered"
                recorded[user_id] = {a.tg_message_id or 0 for a in alerts}
            final = {r.source_id: r.account for r in await store.accounts.assignments()}
        finally:
            await store.close()
        duplicates = 0
        for user_id in PEOPLE:
            messages = {m.message_id for m in fakebot.sent_messages(user_id)}
            assert recorded[user_id] <= messages, "marked sent, never received"
            duplicates += len(messages) - len(recorded[user_id])
        by_account: dict[str, set[int]] = defaultdict(set)
        for account, channel, _ in telegram.reads:
            by_account[account].add(channel)
        moved = by_account["alpha"] & by_account["beta"]
        print(
            "channels each account read: "
            + ", ".join(f"{a} {len(c)}" for a, c in sorted(by_account.items()))
        )
        clashes = overlaps(telegram.reads, lives)
        print(
            f"accounts crash test: {kills} SIGKILLs over 2 account listeners and 2 notifiers "
            f"(one held down past its lease: {len(moved)} channels moved), {POSTS} posts in "
            f"{CHANNELS} channels, {POSTS * len(PEOPLE)} alerts, {duplicates} duplicates, 0 "
            f"lost; channels read at once by two accounts: {len(clashes)}; final assignment "
            f"{dict(sorted(_count(final.values()).items()))}"
        )
        assert not exited, exited
        assert not clashes, clashes[:5]
        assert moved, "the held-down account's channels never moved"
        assert duplicates <= kills


def _count(values: Any) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for v in values:
        out[str(v)] += 1
    return out


async def _until_stored(url: str, total: int, within: float) -> None:
    store = await Store.open(url)
    try:
        async with asyncio.timeout(within):
            while await store.posts.count() < total:  # noqa: ASYNC110
                await asyncio.sleep(0.5)
    finally:
        await store.close()


async def _until_sent(url: str, total: int, within: float) -> None:
    store = await Store.open(url)
    try:
        async with asyncio.timeout(within):
            while (await store.alerts.counts()).get("sent", 0) < total:  # noqa: ASYNC110
                await asyncio.sleep(0.5)
    finally:
        await store.close()
