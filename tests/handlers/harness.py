"""A desk bot running aiogram's real long polling against the fake Bot API, on a temp database.

Test data: invented channels and posts written for these tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiogram import Dispatcher

from bot.handlers import build_dispatcher
from bot.ingest.pipeline import Pipeline
from bot.settings import BotSettings, DraftSettings, Settings
from storage.models import Source
from storage.records import Deletion, Post, SourceError
from storage.store import Store
from tests.fakebot import FakeBotAPI, Message

ADMIN = 7001
EDITOR = 7002
JOURNALIST = 7003
STRANGER = 6666

BASE = datetime(2025, 12, 3, 9, 0, tzinfo=UTC)


class FakeListener:
    """The Telethon listener at its boundary: follow/unfollow as the Protocol says."""

    def __init__(
        self, store: Store, *, missing: set[str] | None = None, broken: bool = False
    ) -> None:
        self.store = store
        self.missing = missing or set()
        self.broken = broken
        self.followed: list[str] = []
        self.unfollowed: list[str] = []

    async def follow(self, username_or_link: str) -> Source:
        name = username_or_link.lstrip("@").lower()
        if self.broken:
            raise RuntimeError("internal listener state /secret/path is corrupt")
        if name in self.missing:
            src = await self.store.sources.ensure(name)
            await self.store.sources.set_error(src.id, f"@{name}: no such channel")
            raise SourceError(f"@{name}: no such channel (check the spelling)")
        self.followed.append(name)
        src = await self.store.sources.ensure(name)
        await self.store.sources.set_active(src.id, True)
        out = await self.store.sources.get(src.id)
        assert out is not None
        return out

    async def unfollow(self, username: str) -> Source:
        name = username.lstrip("@").lower()
        self.unfollowed.append(name)
        src = await self.store.sources.by_username(name)
        assert src is not None
        await self.store.sources.set_active(src.id, False)
        out = await self.store.sources.get(src.id)
        assert out is not None
        return out


async def seed(store: Store, *, extra: int = 0) -> None:
    """Two invented channels, an edited post, a deleted one, hostile markup, `extra` more."""
    await store.sources.upsert(
        "grid_ministry_demo",
        attribution={
            "person_en": "Ivanna Kovalenko",
            "role_en": "Minister of Energy",
            "person_uk": "Іванна Коваленко",
            "role_uk": "Міністерка енергетики",
        },
        gender="f",
    )
    await store.sources.upsert(
        "border_service_demo", attribution={"person_en": "Taras Melnyk"}, gender="m"
    )
    pipe = Pipeline(store, alert=False)
    posts = [
        Post("grid_ministry_demo", 10, BASE, "Енергетики відновили живлення у трьох областях."),
        Post(
            "grid_ministry_demo",
            11,
            BASE + timedelta(hours=1),
            "Графіки відключень у Києві скасовано до вечора.",
        ),
        Post(
            "border_service_demo",
            20,
            BASE + timedelta(hours=2),
            "На кордоні черги: <b>увага</b> & дякуємо за терпіння.",
        ),
        Post(
            "border_service_demo",
            21,
            BASE + timedelta(hours=3),
            "Пункт пропуску тимчасово зачинено.",
        ),
    ]
    for n in range(extra):
        posts.append(
            Post(
                "grid_ministry_demo",
                100 + n,
                BASE + timedelta(minutes=5 * n + 7),
                f"Зведення {n}: енергосистема працює стабільно, ремонтники на місцях.",
            )
        )
    await pipe.handle_batch(posts)
    # An edit and a deletion.
    await pipe.handle(
        Post(
            "grid_ministry_demo",
            11,
            BASE + timedelta(hours=1),
            "Графіки відключень у Києві скасовано до ранку.",
            edit_date=BASE + timedelta(hours=4),
        )
    )
    await pipe.handle(Deletion("border_service_demo", (21,), BASE + timedelta(hours=5)))


class DeskBot:
    def __init__(self, api: FakeBotAPI, store: Store, dp: Dispatcher) -> None:
        self.api = api
        self.store = store
        self.dp = dp

    def bot_messages(self, chat_id: int) -> list[Message]:
        return self.api.sent_messages(chat_id)

    async def ask(
        self,
        user_id: int,
        text: str,
        *,
        replies: int = 1,
        username: str | None = None,
        chat_id: int | None = None,
        within: float = 10.0,
    ) -> list[Message]:
        """Send a message as `user_id`; wait for `replies` new bot messages in the chat and for
        every progress note to be replaced by its result."""
        chat = user_id if chat_id is None else chat_id
        before = len(self.bot_messages(chat))
        await self.api.inject_message(user_id, text, username=username, chat_id=chat_id)

        def done(api: FakeBotAPI) -> bool:
            msgs = self.bot_messages(chat)
            return len(msgs) >= before + replies and not any(
                (m.text or "").startswith("⏳") for m in msgs[before:]
            )

        await self.api.wait_for(done, within)
        await asyncio.sleep(0.05)  # let a handler finish any further message
        return self.bot_messages(chat)[before:]

    async def press(self, user_id: int, data: str, message_id: int | None = None) -> str:
        qid = await self.api.inject_callback(user_id, data, message_id=message_id)
        await self.api.wait_for(lambda api: qid in api.callback_answers)
        await asyncio.sleep(0.05)
        return qid


@asynccontextmanager
async def running_desk(
    tmp_path: Path,
    *,
    listener: Any = None,
    status: Callable[[], Any] | None = None,
    extra_posts: int = 0,
    people: bool = True,
    db: str | None = None,
) -> AsyncIterator[DeskBot]:
    """`db`: a SQLite path or PostgreSQL URL for the store (default: a file in tmp_path)."""
    db = db or str(tmp_path / "desk.sqlite")
    store = await Store.open(db)
    await seed(store, extra=extra_posts)
    if people:
        await store.people.add(role="editor", user_id=EDITOR, username="desk_editor")
        await store.people.add(role="journalist", user_id=JOURNALIST, lang="en", tz="UTC")
    settings = Settings(
        db=db,
        bot=BotSettings(admins=[ADMIN]),
        drafts=DraftSettings(glossary=tmp_path / "glossary.toml"),
    )
    async with FakeBotAPI() as api:
        bot = api.bot()
        fl = listener(store) if callable(listener) else listener
        dp = build_dispatcher(store=store, settings=settings, listener=fl, status=status)
        task = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=1))
        try:
            await api.wait_for(lambda a: bool(a.calls("getupdates")))
            yield DeskBot(api, store, dp)
        finally:
            await dp.stop_polling()
            await asyncio.wait_for(task, 10)
            await store.close()
