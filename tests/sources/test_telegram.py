"""The Telethon listener against a fake Telegram at the request boundary (tests/telethon_seam.py):
real TL objects, Telethon's own parsing and event builders, the real pipeline and a temp-file
database. No test waits: the listener's `sleep` is recorded instead."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from telethon import errors, functions, types

from bot.cli.main import main
from bot.i18n import translator
from bot.ingest.pipeline import Pipeline
from bot.matching import parse_rule, rule_to_json
from bot.settings import JobSettings, Settings, TelegramSettings
from sources.telegram import listener as listener_module
from sources.telegram import reconcile as reconcile_module
from sources.telegram.client import make_client
from sources.telegram.convert import to_post
from sources.telegram.errors import (
    ChannelError,
    ChannelLimitError,
    FloodWaitTooLong,
    TelegramError,
)
from sources.telegram.listener import Listener
from sources.telegram.login import login
from sources.telegram.session import session_path, unlock_session
from storage.records import Event, Post, note_text
from storage.store import Store
from tests.telethon_seam import BASE_DATE, FakeChannel, FakeTelegram, SeamClient

REPO = Path(__file__).resolve().parents[2]
MINISTRY = 1300500
ORIGIN = 1300900
OTHER = 1300777


class Sleeps:
    """The listener's clock: records each wait instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


class Recorder:
    """The real pipeline, with a log of what the listener handed it."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.events: list[Event] = []

    async def __call__(self, event: Event) -> object:
        self.events.append(event)
        return await self.pipeline.handle(event)

    def post_ids(self) -> list[int]:
        return [e.message_id for e in self.events if isinstance(e, Post)]


@pytest.fixture
def fake() -> FakeTelegram:
    tg = FakeTelegram()
    tg.add_channel("energy_ministry_ua", MINISTRY, "Міністерство енергетики (тест)")
    tg.add_channel("origin_news", ORIGIN, "Origin News")
    tg.add_channel("not_followed", OTHER, "Канал, який ми не читаємо")
    return tg


def ministry(fake: FakeTelegram) -> FakeChannel:
    return fake.channels[MINISTRY]


Build = Callable[..., Awaitable[tuple[Listener, SeamClient, Recorder, Sleeps]]]


@pytest.fixture
def build(store: Store, fake: FakeTelegram) -> Build:
    async def make(
        window: int = 50, **settings: Any
    ) -> tuple[Listener, SeamClient, Recorder, Sleeps]:
        client = SeamClient(fake)
        await client.connect()
        recorder = Recorder(Pipeline(store))
        sleeps = Sleeps()
        tg = TelegramSettings(**{"request_pause": 0.0, **settings})
        jobs = JobSettings(reconcile_window=window)
        listener = Listener(client, store, recorder, tg, jobs, sleep=sleeps)
        return listener, client, recorder, sleeps

    return make


async def desk(store: Store) -> None:
    """A journalist and a desk rule, so stored posts about energy alert someone."""
    await store.people.add(role="journalist", user_id=424242, lang="uk")
    await store.rules.add("енергетика", rule_to_json(parse_rule("енергетика")))
    await store.sources.upsert(
        "energy_ministry_ua",
        attribution={"person_uk": "Олена Тестова", "role_uk": "міністерка енергетики"},
    )


def energy_text(n: int) -> str:
    return f"Нарада №{n} щодо енергетики громад: ремонт підстанцій іде за графіком."


def quiet_text(n: int) -> str:
    return f"Оголошення №{n}: прийом громадян перенесено на четвер."


async def alerts(store: Store, kind: str | None = None) -> list[tuple[Any, ...]]:
    sql = "SELECT kind, post_id, reply_to_alert, version FROM alerts"
    params: tuple[Any, ...] = ()
    if kind:
        sql += " WHERE kind = ?"
        params = (kind,)
    return [tuple(r) for r in await store.db.fetchall(sql + " ORDER BY id", params)]


def history_requests(fake: FakeTelegram) -> int:
    return sum(type(r).__name__ == "GetHistoryRequest" for r in fake.requests)


# -- the must-show scenarios ---------------------------------------------------------------


async def test_restart_after_100_missed_posts(
    store: Store, fake: FakeTelegram, build: Build
) -> None:
    await desk(store)
    ch = ministry(fake)
    for i in range(1, 6):
        fake.post(ch, i, quiet_text(i))
    first, _, rec1, _ = await build()
    await first.start()
    assert rec1.post_ids() == [1, 2, 3, 4, 5]
    await first.stop()

    # Offline: 100 posts, every third one about energy.
    for i in range(6, 106):
        fake.post(ch, i, energy_text(i) if i % 3 == 0 else quiet_text(i))
    fake.requests.clear()
    second, _, rec2, _ = await build()
    await second.start()

    assert rec2.post_ids() == list(range(6, 106))  # all of them, oldest first
    src = await store.sources.by_username("energy_ministry_ua")
    assert src is not None and src.last_message_id == 105
    assert await store.posts.count() == 105
    expected = sum(1 for i in range(6, 106) if i % 3 == 0)
    assert len(await alerts(store, "new")) == expected
    assert history_requests(fake) == 2  # 100 + an empty page, paged by Telegram's maximum
    assert not any(type(r).__name__ == "ResolveUsernameRequest" for r in fake.requests)

    # A third start (or the same posts arriving live) alerts nobody twice.
    third, client3, _, _ = await build()
    await third.start()
    await client3.dispatch(fake.new_update(ch, ch.messages[105]))
    assert len(await alerts(store, "new")) == expected
    assert await store.posts.count() == 105


async def test_edit_and_deletion_while_offline_found_by_reconciliation(
    store: Store, fake: FakeTelegram, build: Build
) -> None:
    await desk(store)
    ch = ministry(fake)
    fake.post(ch, 1, quiet_text(1))
    first, client1, _, _ = await build()
    await first.start()
    # A channel's first look back is stored for context but alerts nobody.
    assert await alerts(store, "new") == []
    for i in range(2, 12):
        fake.post(ch, i, energy_text(i))
        await client1.dispatch(fake.new_update(ch, ch.messages[i]))
    originals = {r[1]: r for r in await alerts(store, "new")}
    assert len(originals) == 10
    await first.stop()

    # Offline: post 4 edited, post 7 deleted. Telegram will never push either.
    edited = fake.edit(ch, 4, energy_text(4) + " Оновлено: графік на квітень додано.")
    fake.delete(ch, 7)

    second, _, rec, _ = await build()
    await second.start()
    assert rec.events == []  # catch-up has nothing new
    results = await second.reconcile_due()
    assert results["energy_ministry_ua"].edited == 1
    assert results["energy_ministry_ua"].deleted == 1

    src = await store.sources.by_username("energy_ministry_ua")
    assert src is not None
    post4 = await store.posts.get(src.id, 4)
    assert post4 is not None and post4.text.endswith("графік на квітень додано.")
    versions = await store.posts.versions(post4.id)
    assert [v.version for v in versions] == [1, 2]
    assert versions[1].edit_date == edited.edit_date
    post7 = await store.posts.get(src.id, 7)
    assert post7 is not None and post7.deleted_at is not None

    edit_alerts = await alerts(store, "edit")
    delete_alerts = await alerts(store, "delete")
    assert [a[1] for a in edit_alerts] == [post4.id]
    assert [a[1] for a in delete_alerts] == [post7.id]
    alert_ids = {
        r[0]: r[1]
        for r in await store.db.fetchall("SELECT post_id, id FROM alerts WHERE kind = 'new'")
    }
    assert edit_alerts[0][2] == alert_ids[post4.id]  # follow-ups reply to the original
    assert delete_alerts[0][2] == alert_ids[post7.id]
    # Deleted at some time while we were away: the reply says when it was found gone, not
    # that it was deleted then.
    row = await store.db.fetchone("SELECT payload FROM alerts WHERE kind = 'delete'")
    assert row is not None
    plain = json.loads(row[0])["plain"]
    assert "Виявлено, що допис видалено, о" in plain and "Допис видалено о" not in plain, plain

    # Re-reading again finds nothing new to say.
    assert await second.reconcile_due() == {}  # not due yet
    again = await second.reconcile(src)
    assert (again.edited, again.deleted, again.missed) == (0, 0, 0)
    assert len(await alerts(store)) == 12


async def test_album_of_five_arrives_live_as_one_post(
    store: Store, fake: FakeTelegram, build: Build
) -> None:
    await desk(store)
    ch = ministry(fake)
    fake.post(ch, 1, quiet_text(1))
    listener, client, rec, _ = await build()
    await listener.start()

    photo = types.MessageMediaPhoto(photo=types.PhotoEmpty(id=99))
    caption = "Фото з відновлення енергетики на Київщині: п'ять підстанцій уже працюють."
    for mid in range(2, 7):
        text = caption if mid == 4 else ""  # the caption sits on the third photo
        msg = fake.message(ch, mid, text, media=photo, grouped_id=880011)
        await client.dispatch(fake.new_update(ch, msg))

    src = await store.sources.by_username("energy_ministry_ua")
    assert src is not None
    rows = await store.db.fetchall(
        "SELECT message_id, text, media, grouped_id FROM posts WHERE source_id = ?"
        " AND grouped_id IS NOT NULL",
        (src.id,),
    )
    assert [tuple(r) for r in rows] == [(2, caption, "photo", 880011)]
    album = await store.posts.get_by_link("energy_ministry_ua", 5)
    assert album is not None and album.message_id == 2  # any item's link finds the album
    assert len(await alerts(store, "new")) == 1
    assert rec.post_ids() == [1, 2, 3, 4, 5, 6]


async def test_album_in_catch_up_and_reconciliation(
    store: Store, fake: FakeTelegram, build: Build
) -> None:
    await desk(store)
    ch = ministry(fake)
    fake.post(ch, 1, quiet_text(1))
    first, _, _, _ = await build()
    await first.start()
    doc = types.MessageMediaDocument(
        document=types.Document(
            id=5,
            access_hash=1,
            file_reference=b"",
            date=BASE_DATE,
            mime_type="video/mp4",
            size=10,
            dc_id=2,
            attributes=[types.DocumentAttributeVideo(duration=3.0, w=640, h=360)],
        )
    )
    caption = "Відео: енергетики показали новий трансформатор."
    for mid in range(2, 7):
        fake.post(ch, mid, caption if mid == 6 else "", media=doc, grouped_id=990022)
    second, _, _, _ = await build()
    await second.start()
    src = await store.sources.by_username("energy_ministry_ua")
    assert src is not None
    head = await store.posts.get(src.id, 2)
    assert head is not None and head.text == caption and head.media == "video"
    assert await store.posts.count() == 2
    assert len(await alerts(store, "new")) == 1
    # Album members are not deletions, and an uncaptioned head is not an edit.
    result = await second.reconcile(src)
    assert (result.edited, result.deleted, result.missed) == (0, 0, 0)
    assert len(await alerts(store)) == 1


async def test_gap_seen_live_fetches_the_missing_posts_first(
    store: Store, fake: FakeTelegram, build: Build
) -> None:
    await desk(store)
    ch = ministry(fake)
    for i in range(1, 6):
        fake.post(ch, i, quiet_text(i))
    listener, client, rec, _ = await build()
    await listener.start()
    # Posts 6-9 were never pushed to us; 10 arrives live.
    for i in range(6, 10):
        fake.post(ch, i, energy_text(i))
    msg = fake.message(ch, 10, energy_text(10))
    await client.dispatch(fake.new_update(ch, msg))
    assert rec.post_ids() == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert listener.gaps == 1
    assert len(await alerts(store, "new")) == 5
    # The next post in sequence needs no fetch.
    before = history_requests(fake)
    await client.dispatch(fake.new_update(ch, fake.message(ch, 11, quiet_text(11))))
    assert history_requests(fake) == before
    assert listener.gaps == 1


# -- live events -----------------------------------------------------------------------------


async def test_live_edit_and_deletion(store: Store, fake: FakeTelegram, build: Build) -> None:
    await desk(store)
    ch = ministry(fake)
    listener, client, _, _ = await build()
    fake.post(ch, 1, quiet_text(1))
    await listener.start()
    await client.dispatch(fake.new_update(ch, fake.message(ch, 2, energy_text(2))))
    await client.dispatch(fake.edit_update(ch, 2, energy_text(2) + " Уточнення: до п'ятниці."))
    await client.dispatch(fake.delete_update(ch, 2))
    src = await store.sources.by_username("energy_ministry_ua")
    assert src is not None
    post = await store.posts.get(src.id, 2)
    assert post is not None and post.version == 2 and post.deleted_at is not None
    assert [a[0] for a in await alerts(store)] == ["new", "edit", "delete"]
    row = await store.db.fetchone("SELECT payload FROM alerts WHERE kind = 'delete'")
    assert row is not None and "Допис видалено о" in json.loads(row[0])["plain"]  # seen live


async def test_channels_we_do_not_follow_are_ignored(
    store: Store, fake: FakeTelegram, build: Build
) -> None:
    await desk(store)
    listener, client, rec, _ = await build()
    await listener.start()
    other = fake.channels[OTHER]
    await client.dispatch(fake.new_update(other, fake.message(other, 50, energy_text(50))))
    await client.dispatch(fake.delete_update(other, 50))
    assert rec.events == []
    assert await store.sources.by_username("not_followed") is None

    await listener.unfollow("energy_ministry_ua")
    ch = ministry(fake)
    await client.dispatch(fake.new_update(ch, fake.message(ch, 1, energy_text(1))))
    assert rec.events == []


async def test_conversion_keeps_forward_origin_links_media_and_reply(
    store: Store, fake: FakeTelegram, build: Build
) -> None:
    await desk(store)
    ch = ministry(fake)
    text = "Переказуємо заяву колег. Деталі за посиланням."
    fake.post(
        ch,
        1,
        text,
        fwd_from=types.MessageFwdHeader(
            date=BASE_DATE, from_id=types.PeerChannel(ORIGIN), channel_post=314
        ),
        entities=[types.MessageEntityTextUrl(offset=26, length=7, url="https://example.org/x")],
        media=types.MessageMediaWebPage(webpage=types.WebPageEmpty(id=1)),
        reply_to=None,
    )
    fake.post(ch, 2, "Відповідь на попереднє.", reply_to=1)
    fake.post(
        ch,
        3,
        "Слова радника.",
        fwd_from=types.MessageFwdHeader(date=BASE_DATE, from_name="Радник Тестовий"),
    )
    fake.service(ch, 4)
    listener, _, rec, _ = await build()
    await listener.start()
    posts = [e for e in rec.events if isinstance(e, Post)]
    assert [p.message_id for p in posts] == [1, 2, 3]  # the service message is no post
    first = posts[0]
    assert first.forward_from == "@origin_news"
    assert first.forward_link == "https://t.me/origin_news/314"
    assert first.links == ("https://example.org/x",)
    assert first.media == "webpage"
    assert first.channel == "energy_ministry_ua" and first.channel_id == MINISTRY
    assert posts[1].reply_to == 1 and posts[1].forward_from is None
    assert posts[2].forward_from == "Радник Тестовий" and posts[2].forward_link is None
    src = await store.sources.by_username("energy_ministry_ua")
    assert src is not None
    stored = await store.posts.get(src.id, 1)
    assert stored is not None and stored.forward_from == "@origin_news"


def test_to_post_ignores_service_messages_and_empty_slots() -> None:
    src_row = type("S", (), {"username": "energy_ministry_ua", "title": None})()
    assert to_post(types.MessageEmpty(id=3, peer_id=types.PeerChannel(MINISTRY)), src_row) is None
    service = types.MessageService(
        id=4,
        peer_id=types.PeerChannel(MINISTRY),
        date=BASE_DATE,
        action=types.MessageActionPinMessage(),
    )
    assert to_post(service, src_row) is None


# -- flood safety and connections ------------------------------------------------------------


async def test_flood_wait_is_honoured_bounded_and_reported(
    store: Store, fake: FakeTelegram, build: Build
) -> None:
    await desk(store)
    ch = ministry(fake)
    for i in range(1, 4):
        fake.post(ch, i, quiet_text(i))
    listener, _, rec, sleeps = await build(flood_wait_max=600)
    fake.requests.clear()
    fake.flood(42)  # the resolve request is told to wait
    await listener.start()
    assert 42 in sleeps.calls
    assert rec.post_ids() == [1, 2, 3]
    assert sum(type(r).__name__ == "ResolveUsernameRequest" for r in fake.requests) == 2
    state = await store.state.get("listener.flood_wait_until")
    assert state is not None
    status = await listener.status()
    assert "FloodWait 42s" in (status["last_error"] or "")
    assert listener.flood_seconds == 42  # what /metrics reports

    # Longer than flood_wait_max: nothing sleeps that long, the round stops, /status says so.
    fake.post(ch, 4, energy_text(4))
    fake.flood(5000)
    results = await listener.reconcile_due()
    assert results == {}
    assert max(sleeps.calls) < 600
    status = await listener.status()
    assert status["flood_wait_until"] is not None
    assert "exceeds telegram.flood_wait_max" in status["last_error"]
    # While the wait lasts, requests are refused locally instead of provoking Telegram.
    sent = len(fake.requests)
    src = await store.sources.by_username("energy_ministry_ua")
    assert src is not None
    with pytest.raises(FloodWaitTooLong):
        await listener.reconcile(src)
    assert len(fake.requests) == sent


async def test_requests_are_paced(store: Store, fake: FakeTelegram, build: Build) -> None:
    await desk(store)
    ch = ministry(fake)
    for i in range(1, 251):
        fake.post(ch, i, quiet_text(i))
    await store.sources.ensure("energy_ministry_ua")
    listener, _, _, sleeps = await build(request_pause=2.5, catch_up_limit=5000)
    await store.db.execute("UPDATE sources SET last_message_id = 1")
    await listener.start()
    # resolve + 3 history pages: every request after the first waits its turn.
    assert len([s for s in sleeps.calls if s > 0]) >= 3
    assert all(s <= 2.5 for s in sleeps.calls)


async def test_dropped_connection_mid_catch_up_reconnects_and_finishes(
    store: Store, fake: FakeTelegram, build: Build
) -> None:
    await desk(store)
    ch = ministry(fake)
    for i in range(1, 31):
        fake.post(ch, i, quiet_text(i))
    listener, client, rec, _ = await build()
    await store.sources.ensure("energy_ministry_ua")
    fake.fail(lambda req: None)  # the resolve goes through
    fake.drop_connection()  # the history request finds the line dead
    await listener.start()
    assert rec.post_ids() == list(range(1, 31))
    assert listener.reconnects == 1
    assert client.is_connected()
    assert (await listener.status())["connected"] is True


async def test_run_reconnects_after_disconnect_and_catches_up(
    store: Store, fake: FakeTelegram, build: Build
) -> None:
    await desk(store)
    ch = ministry(fake)
    fake.post(ch, 1, quiet_text(1))
    listener, client, rec, sleeps = await build()
    await client.disconnect()
    task = asyncio.create_task(listener.run())

    async def until(cond: Callable[[], bool]) -> None:
        for _ in range(1000):  # the database answers from its own thread
            if cond():
                return
            await asyncio.sleep(0.005)
        raise AssertionError("condition never met")

    await until(lambda: rec.post_ids() == [1])
    client.lose_connection()
    for i in range(2, 5):
        fake.post(ch, i, energy_text(i))  # posted while we were disconnected
    await until(lambda: rec.post_ids() == [1, 2, 3, 4])
    assert listener.reconnects == 1 and sleeps.calls[:1] == [1.0]
    await listener.stop()
    await asyncio.wait_for(task, 5)
    assert (await store.state.get("listener.connected")) is not None


# -- sources ---------------------------------------------------------------------------------


async def test_follow_resolves_once_joins_and_caches_the_peer(
    store: Store, fake: FakeTelegram, build: Build
) -> None:
    ch = ministry(fake)
    ch.entity.left = True
    fake.post(ch, 1, quiet_text(1))
    listener, _, rec, _ = await build()
    src = await listener.follow("https://t.me/Energy_Ministry_UA")
    assert src.username == "energy_ministry_ua"
    assert src.peer_id == MINISTRY and src.access_hash == ch.entity.access_hash
    assert fake.joined == [MINISTRY]
    assert rec.post_ids() == [1]

    # A restart uses the cached peer: no resolve, no join, no dialogs sweep.
    fake.requests.clear()
    again, _, _, _ = await build()
    await again.start()
    names = {type(r).__name__ for r in fake.requests}
    assert "ResolveUsernameRequest" not in names
    assert "JoinChannelRequest" not in names
    assert "GetDialogsRequest" not in names


async def test_follow_errors_are_clear(store: Store, fake: FakeTelegram, build: Build) -> None:
    listener, _, _, _ = await build(max_channels=1)
    with pytest.raises(ChannelError, match=r"no such channel.*renamed"):
        await listener.follow("@gone_channel")
    assert await store.sources.by_username("gone_channel") is None  # nothing half-registered
    # A source from the sources file that does not resolve keeps the reason for /status.
    await store.sources.upsert("renamed_away")
    await listener.start()
    gone = await store.sources.by_username("renamed_away")
    assert gone is not None and "no such channel" in note_text(gone.error)
    with pytest.raises(ChannelError, match="is a user, not a channel"):
        await listener.follow("some_person")
    await listener.follow("energy_ministry_ua")
    with pytest.raises(ChannelLimitError, match="max_channels = 1"):
        await listener.follow("origin_news")
    # A bad name is not re-resolved on every cycle.
    fake.requests.clear()
    await listener.reconcile_due()
    assert not any(type(r).__name__ == "ResolveUsernameRequest" for r in fake.requests)


async def test_telegram_channel_limit_is_reported(
    store: Store, fake: FakeTelegram, build: Build
) -> None:
    from telethon import errors

    fake.channels[ORIGIN].entity.left = True
    listener, _, _, _ = await build()
    fake.fail(lambda req: None)  # resolve
    fake.fail(lambda req: errors.ChannelsTooMuchError(request=req))  # join
    with pytest.raises(ChannelLimitError, match="500"):
        await listener.follow("origin_news")


async def test_reconcile_interval_prefers_the_source_setting_and_busy_channels(
    store: Store, fake: FakeTelegram, build: Build
) -> None:
    listener, _, _, _ = await build()
    src = await store.sources.upsert("energy_ministry_ua", reconcile_every=120)
    assert listener.interval(src) == 120
    plain = await store.sources.upsert("origin_news")
    assert listener.interval(plain) == 600  # never posted: the global default
    await store.sources.advance(plain.id, 5, int(BASE_DATE.timestamp()))
    old = await store.sources.get(plain.id)
    assert old is not None and listener.interval(old) == 2400
    fresh = old.__class__(**{**_fields(old), "last_post_at": _recent()})
    assert listener.interval(fresh) == 300


def _fields(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__slots__}


def _recent() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC) - timedelta(minutes=5)


# -- the session -----------------------------------------------------------------------------


async def test_session_file_is_private_and_locked_to_one_process(tmp_path: Path) -> None:
    settings = TelegramSettings(api_id=1, api_hash=SecretStr("0" * 32), session=tmp_path / "acct")
    client = make_client(settings)
    path = session_path(settings)
    assert path == tmp_path / "acct.session"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    code = (
        "import sys; from pathlib import Path\n"
        "from sources.telegram.session import lock_session, SessionInUseError\n"
        "try:\n    lock_session(Path(sys.argv[1]))\nexcept SessionInUseError as e:\n"
        "    print(e); sys.exit(3)\n"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code,
        str(path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 3, err.decode()
    assert f"in use by another wirewatch process (pid {os.getpid()})" in out.decode()
    client.session.close()


async def test_login_asks_for_phone_and_code_and_never_logs_the_code(
    fake: FakeTelegram, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.authorized = False
    client = SeamClient(fake)
    asked: list[str] = []

    def prompt(question: str) -> str:
        asked.append(question)
        return "+380441234567"

    def secret(question: str) -> str:
        asked.append(question)
        return fake.login_code

    caplog.set_level("DEBUG")
    line = await login(client, prompt=prompt, secret=secret)
    assert line == f"logged in as @ww_ear (id {fake.me.id})"
    assert fake.code_sent_to == "380441234567"  # Telethon sends the digits only
    assert any("code" in q.lower() for q in asked)
    out = capsys.readouterr()
    assert fake.login_code not in caplog.text + out.out + out.err


def test_login_command_refuses_a_session_held_by_another_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import fcntl

    import sources.telegram.login as login_module
    from bot.cli.main import main

    session = tmp_path / "acct.session"
    monkeypatch.setenv("WIREWATCH_TELEGRAM__API_ID", "12345")
    monkeypatch.setenv("WIREWATCH_TELEGRAM__API_HASH", "0123456789abcdef0123456789abcdef")
    monkeypatch.setenv("WIREWATCH_TELEGRAM__SESSION", str(session))

    async def no_network(*_a: Any, **_k: Any) -> str:
        raise AssertionError("login must stop at the lock, before any connection")

    monkeypatch.setattr(login_module, "login", no_network)
    # Another process: its own open file description on the lock, holding the flock.
    fd = os.open(tmp_path / "acct.session.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(fd, b"31337")
        assert main(["login", "--phone", "+380441234567"]) == 2
    finally:
        os.close(fd)
    err = capsys.readouterr().err.strip()
    assert err == (
        f"wirewatch: session file {session} in use by another wirewatch process (pid 31337)"
    )


async def test_reconciliation_job_on_apscheduler(
    store: Store, fake: FakeTelegram, build: Build
) -> None:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    await desk(store)
    ch = ministry(fake)
    fake.post(ch, 1, energy_text(1))
    listener, _, _, _ = await build()
    await listener.start()
    scheduler = AsyncIOScheduler()
    listener.schedule(scheduler, every=45)
    job = scheduler.get_job("listener.reconcile")
    assert job is not None
    assert (job.max_instances, job.coalesce, job.misfire_grace_time) == (1, True, 45)
    fake.delete(ch, 1)
    results = await job.func()  # what the scheduler runs
    assert results["energy_ministry_ua"].deleted == 0  # an empty channel proves nothing
    fake.post(ch, 2, quiet_text(2))
    listener._reconciled.clear()
    results = await job.func()
    assert results["energy_ministry_ua"].deleted == 1
    assert results["energy_ministry_ua"].missed == 1


async def test_renamed_or_private_channel_is_reported_on_the_source(
    store: Store, fake: FakeTelegram, build: Build
) -> None:
    from telethon import errors

    await store.sources.upsert("energy_ministry_ua")
    ch = ministry(fake)
    fake.post(ch, 1, quiet_text(1))
    listener, _, _, _ = await build()
    await listener.start()
    ch.entity.username = "energy_ministry_new"
    src = await store.sources.by_username("energy_ministry_ua")
    assert src is not None
    await listener.reconcile(src)
    src = await store.sources.by_username("energy_ministry_new")
    assert src is not None and "renamed to @energy_ministry_new" in note_text(src.error)
    # Stored as a message and its parameters: /sources and /status read it in each person's
    # language, the CLI and the logs in English.
    assert "перейменовано на @energy_ministry_new" in translator("uk").note(src.error)

    fake.fail(lambda req: errors.ChannelPrivateError(request=req))
    listener._reconciled.clear()
    assert await listener.reconcile_due() == {}
    src = await store.sources.by_username("energy_ministry_new")
    assert src is not None and "became private" in note_text(src.error)
    status = await listener.status()
    assert "became private" in (status["last_error"] or "")
    assert "канал стал приватным" in translator("ru").note(status["last_error_note"])


async def test_long_flood_wait_at_start_does_not_stop_the_listener(
    store: Store, fake: FakeTelegram, build: Build
) -> None:
    await store.sources.upsert("energy_ministry_ua")
    await store.sources.upsert("origin_news")
    listener, _, rec, sleeps = await build(flood_wait_max=300)
    fake.flood(3600)
    await listener.start()  # does not raise: live updates still flow for cached channels
    assert rec.events == [] and sleeps.calls == []
    resolves = sum(type(r).__name__ == "ResolveUsernameRequest" for r in fake.requests)
    assert resolves == 1  # the second name waits for the FloodWait to end
    status = await listener.status()
    assert status["flood_wait_until"] is not None and status["channels"] == 0


# -- issue 12: a real server's lessons ------------------------------------------------------


async def test_channel_added_while_running_is_back_filled_silently(
    store: Store, fake: FakeTelegram, build: Build
) -> None:
    await desk(store)
    for i in range(1, 4):
        fake.post(ministry(fake), i, energy_text(i))
    listener, _, rec, _ = await build()
    await listener.start()
    origin = fake.channels[ORIGIN]
    for i in range(1, 6):
        fake.post(origin, i, energy_text(i))  # days-old posts of a channel added later
    await store.sources.upsert("origin_news")  # `wirewatch sources add` while running
    await listener.reconcile_due()
    handed = [e for e in rec.events if isinstance(e, Post) and e.channel == "origin_news"]
    assert [e.message_id for e in handed] == [1, 2, 3, 4, 5]
    assert all(e.backfill for e in handed)
    assert await alerts(store) == []
    # What it posts from now on is news.
    fake.post(origin, 6, energy_text(6))
    src = await store.sources.by_username("origin_news")
    assert src is not None
    await listener.reconcile(src)
    assert len(await alerts(store)) == 1


async def test_channel_whose_first_catch_up_failed_is_back_filled_silently(
    store: Store, fake: FakeTelegram, build: Build
) -> None:
    await desk(store)
    for i in range(1, 6):
        fake.post(ministry(fake), i, energy_text(i))
    listener, _, rec, _ = await build(flood_wait_max=600)
    fake.fail(lambda req: None)  # the resolve goes through
    fake.flood(4000)  # the first history request: a FloodWait longer than we sleep
    await listener.start()
    assert rec.post_ids() == []
    listener.gate.flood_until = 0.0  # the wait is over
    await listener.reconcile_due()
    assert rec.post_ids() == [1, 2, 3, 4, 5]
    assert all(e.backfill for e in rec.events if isinstance(e, Post))
    assert await alerts(store) == []


async def test_stale_cached_peer_is_resolved_again_once(
    store: Store, fake: FakeTelegram, build: Build
) -> None:
    await desk(store)
    ch = ministry(fake)
    for i in range(1, 4):
        fake.post(ch, i, energy_text(i))
    listener, _, rec, _ = await build()
    await listener.start()
    src = await store.sources.by_username("energy_ministry_ua")
    assert src is not None and src.peer_id == MINISTRY
    # A restored database, an account re-registered: the cached access hash is no longer
    # valid for this account (Telegram answers CHANNEL_INVALID to it).
    ch.entity.access_hash += 1
    fake.post(ch, 4, energy_text(4))
    listener, _, rec, _ = await build()
    fake.requests.clear()
    await listener.start()
    assert rec.post_ids() == [4]
    names = [type(r).__name__ for r in fake.requests]
    assert names.count("ResolveUsernameRequest") == 1
    status = await listener.status()
    assert [s["error"] for s in status["sources"]] == [None]
    assert await store.sources.account_hash(src.id, fake.me.id) == ch.entity.access_hash


async def test_account_switch_through_the_seam(
    store: Store, fake: FakeTelegram, build: Build
) -> None:
    await desk(store)
    await store.sources.upsert("origin_news")
    for cid in (MINISTRY, ORIGIN):
        for i in range(1, 4):
            fake.post(fake.channels[cid], i, quiet_text(i))
    listener, _, _, _ = await build()
    await listener.start()
    fake.switch_account(types.User(id=888000222, access_hash=5, first_name="B"))
    listener, client, rec, _ = await build()
    await listener.start()
    assert sorted(fake.joined) == [MINISTRY, ORIGIN]
    ch = ministry(fake)
    assert fake.is_member(ch)
    await client.dispatch(fake.new_update(ch, fake.message(ch, 4, energy_text(4))))
    assert rec.post_ids() == [4]
    assert len(await alerts(store)) == 1


async def test_failed_gap_fetch_keeps_the_post_in_hand_and_later_ones(
    store: Store, fake: FakeTelegram, build: Build
) -> None:
    await desk(store)
    ch = ministry(fake)
    for i in range(1, 4):
        fake.post(ch, i, quiet_text(i))
    listener, client, rec, _ = await build()
    await listener.start()
    fake.post(ch, 4, energy_text(4))  # never pushed: a gap
    fake.post(ch, 5, energy_text(5))

    def refuse(req: Any) -> BaseException:
        return errors.ServerError(request=req, message="INTERNAL", code=500)

    fake.fail(refuse)
    fake.fail(refuse)
    await client.dispatch(fake.new_update(ch, fake.message(ch, 6, energy_text(6))))
    await client.dispatch(fake.new_update(ch, fake.message(ch, 7, energy_text(7))))
    assert rec.post_ids()[-2:] == [6, 7]
    assert "INTERNAL" in str((await listener.status())["last_error"])
    fake.failures.clear()
    src = await store.sources.by_username("energy_ministry_ua")
    assert src is not None
    await listener.catch_up(src)  # the next catch-up fills the hole
    assert sorted(rec.post_ids()[-4:]) == [4, 5, 6, 7]
    assert len(await alerts(store)) == 4


async def test_source_error_names_telegrams_error(
    store: Store, fake: FakeTelegram, build: Build
) -> None:
    await desk(store)
    fake.post(ministry(fake), 1, quiet_text(1))
    listener, _, _, _ = await build()
    await listener.start()
    fake.fail(lambda req: errors.MsgIdInvalidError(request=req))
    await listener.reconcile_due()
    assert (await listener.status())["last_error"] == (
        "reconcile @energy_ministry_ua: Telegram said MSG_ID_INVALID"
    )


async def test_history_pager_stops_when_the_server_ignores_its_cursor(
    store: Store, fake: FakeTelegram, build: Build
) -> None:
    await desk(store)
    ch = ministry(fake)
    for i in range(1, 301):
        fake.post(ch, i, quiet_text(i))
    src = await store.sources.by_username("energy_ministry_ua")
    assert src is not None
    await store.sources.advance(src.id, 250, None)  # stored up to 250 before a restart
    listener, _, rec, _ = await build(catch_up_limit=1000)
    answer = fake._history

    def newest_whatever_asked(req: Any) -> Any:
        # A server that ignores min_id and offsets: always the newest page.
        return answer(
            functions.messages.GetHistoryRequest(
                peer=req.peer,
                offset_id=0,
                offset_date=None,
                add_offset=0,
                limit=req.limit,
                max_id=0,
                min_id=0,
                hash=0,
            )
        )

    fake._history = newest_whatever_asked  # type: ignore[method-assign]
    await listener.start()
    assert rec.post_ids() == list(range(251, 301))
    assert history_requests(fake) <= 2


def test_doctor_reports_channels_the_listener_cannot_follow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WIREWATCH_HEALTH_PORT", "0")
    db = tmp_path / "wirewatch.db"

    async def listen() -> dict[str, Any]:
        store = await Store.open(db)
        try:
            tg = FakeTelegram()
            tg.add_channel("energy_ministry_ua", MINISTRY, "Міністерство енергетики (тест)")
            await store.sources.upsert("energy_ministry_ua")
            await store.sources.upsert("ministry_of_nothing")  # not on Telegram
            client = SeamClient(tg)
            await client.connect()
            listener = Listener(
                client, store, Pipeline(store).handle, TelegramSettings(request_pause=0.0)
            )
            await listener.start()
            return await listener.status()
        finally:
            await store.close()

    status = asyncio.run(listen())
    (bad,) = [s for s in status["sources"] if s["error"]]
    assert "no such channel on Telegram" in bad["error"]
    code = main(["doctor", "--json", "--db", str(db)])
    out, _ = capsys.readouterr()
    (sources,) = [c for c in json.loads(out) if c["check"] == "sources"]
    assert sources["status"] == "fail"
    assert "@ministry_of_nothing: no such channel on Telegram" in sources["detail"]
    assert code == 1


def test_settings_name_telegrams_test_servers_or_another_server_and_its_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rsa as rsa_keys  # Telethon's own RSA dependency
    from telethon.crypto import rsa as telethon_rsa

    monkeypatch.setenv("WIREWATCH_TELEGRAM__API_ID", "12345")
    monkeypatch.setenv("WIREWATCH_TELEGRAM__API_HASH", "0" * 32)
    monkeypatch.setenv("WIREWATCH_TELEGRAM__SESSION", str(tmp_path / "test-dc.session"))
    monkeypatch.setenv("WIREWATCH_TELEGRAM__TEST_SERVERS", "true")
    tg = Settings(_env_file=None).telegram  # type: ignore[call-arg]
    client = make_client(tg)
    assert (client.session.dc_id, client.session.server_address, client.session.port) == (
        2,
        "149.154.167.40",
        443,
    )
    unlock_session(session_path(tg))

    public, _ = rsa_keys.newkeys(512)
    pem = public.save_pkcs1().decode("ascii")
    monkeypatch.setenv("WIREWATCH_TELEGRAM__DC_ADDRESS", "10.0.0.7")
    monkeypatch.setenv("WIREWATCH_TELEGRAM__DC_PORT", "8443")
    monkeypatch.setenv("WIREWATCH_TELEGRAM__SERVER_KEY", pem)
    tg = Settings(_env_file=None).telegram  # type: ignore[call-arg]
    client = make_client(tg)
    assert (client.session.server_address, client.session.port) == ("10.0.0.7", 8443)
    assert any(key == public for key, _ in telethon_rsa._server_keys.values())
    unlock_session(session_path(tg))

    key_file = tmp_path / "server.pem"
    key_file.write_text("not a key", encoding="ascii")
    with pytest.raises(TelegramError, match=r"telegram\.server_key: not an RSA public key"):
        make_client(tg.model_copy(update={"server_key": str(key_file)}))


async def test_busy_channel_is_polled_between_reconciliations(
    store: Store, fake: FakeTelegram, build: Build, monkeypatch: pytest.MonkeyPatch
) -> None:
    await desk(store)
    ch = ministry(fake)
    recent = datetime.now(UTC) - timedelta(minutes=5)
    for i in range(1, 4):
        fake.post(ch, i, quiet_text(i), date=recent)
    listener, _, rec, _ = await build()
    await listener.start()
    await listener.reconcile_due()  # every channel re-read just now
    # A large channel: Telegram does not push this post to the account.
    fake.post(ch, 4, energy_text(4), date=datetime.now(UTC))
    later = time.time() + 61  # past telegram.poll_interval, well before the next re-read
    monkeypatch.setattr(listener_module, "now", lambda: later)
    monkeypatch.setattr(reconcile_module, "now", lambda: later)
    await listener.reconcile_due()
    assert rec.post_ids()[-1] == 4
    assert len(await alerts(store)) == 1


async def test_the_listener_reads_only_its_assigned_channels_and_follows_reassignment(
    store: Store, fake: FakeTelegram, build: Build
) -> None:
    # Several accounts share the channels: this one reads what the service assigns it.
    await desk(store)
    origin = await store.sources.upsert("origin_news")
    ministry_src = await store.sources.by_username("energy_ministry_ua")
    assert ministry_src is not None
    ch, other = ministry(fake), fake.channels[ORIGIN]
    fake.post(ch, 1, quiet_text(1))
    fake.post(other, 1, quiet_text(1))
    listener, client, rec, _ = await build()
    await listener.reassign({ministry_src.id})
    await listener.start()
    assert (await store.posts.get(origin.id, 1)) is None  # not this account's
    await client.dispatch(fake.new_update(other, fake.message(other, 2, energy_text(2))))
    assert all(e.channel == "energy_ministry_ua" for e in rec.events)

    # The origin channel is given to this account: joined and caught up in the background.
    await listener.reassign({ministry_src.id, origin.id})
    assert listener._adopting is not None
    await listener._adopting
    assert await store.posts.get(origin.id, 2) is not None
    # The ministry goes to another account: once reassign returns nothing of it is handed over.
    await listener.reassign({origin.id})
    before = len(rec.events)
    await client.dispatch(fake.new_update(ch, fake.message(ch, 3, energy_text(3))))
    assert len(rec.events) == before
    assert (await store.posts.get(ministry_src.id, 3)) is None
    # Following a channel from the bot registers it; the assignment decides who reads it.
    src = await listener.follow("not_followed")
    assert src.active and src.peer_id is None and OTHER not in fake.joined


# An album whose first photo has no caption and whose later photos each have one.
ALBUM_NO_FIRST_CAPTION = 880022
ALBUM_CAPTION = "Енергетика громад: за добу відновили три підстанції."
ALBUM_OTHER_CAPTION = "На другому фото — бригада енергетики, яка працювала вночі."


async def test_a_later_photos_own_caption_is_not_an_edit_of_the_album(
    store: Store, fake: FakeTelegram, build: Build
) -> None:
    # Photo 1 without a caption, photos 2 and 3 each with their own: the album's text is
    # photo 2's, and photo 3's arrived as an "edit" of it, a false "Updated" reply to everyone
    # alerted (the check looked only at whether the album's first message had a caption).
    await desk(store)
    ch = ministry(fake)
    fake.post(ch, 1, quiet_text(1))
    listener, client, _, _ = await build()
    await listener.start()
    photo = types.MessageMediaPhoto(photo=types.PhotoEmpty(id=99))
    for mid, text in ((2, ""), (3, ALBUM_CAPTION), (4, ALBUM_OTHER_CAPTION)):
        msg = fake.message(ch, mid, text, media=photo, grouped_id=ALBUM_NO_FIRST_CAPTION)
        await client.dispatch(fake.new_update(ch, msg))
    src = await store.sources.by_username("energy_ministry_ua")
    assert src is not None
    head = await store.posts.get(src.id, 2)
    assert head is not None and head.text == ALBUM_CAPTION
    assert [a[0] for a in await alerts(store)] == ["new"]

    # Reconciliation re-reads every photo (and hands photo 3's caption over again): still
    # nothing to tell anyone, and the album keeps its text.
    await listener.reconcile(src)
    head = await store.posts.get(src.id, 2)
    assert head is not None and (head.text, head.version) == (ALBUM_CAPTION, 2)
    assert [a[0] for a in await alerts(store)] == ["new"]

    # The caption's own photo edited for real is an edit, and stays the album's text when the
    # album is read again.
    fixed = ALBUM_CAPTION.replace("три", "чотири")
    await client.dispatch(fake.edit_update(ch, 3, fixed))
    assert [a[0] for a in await alerts(store)] == ["new", "edit"]
    await listener.reconcile(src)
    head = await store.posts.get(src.id, 2)
    assert head is not None and head.text == fixed
    assert [a[0] for a in await alerts(store)] == ["new", "edit"]
