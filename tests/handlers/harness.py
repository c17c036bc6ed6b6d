"""A desk bot running aiogram's real long polling against the fake Bot API, on a temp database.

Test data: invented channels and posts written for these tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiogram import Dispatcher

from bot.handlers import build_dispatcher
from bot.i18n import translator
from bot.ingest.pipeline import Pipeline
from bot.settings import BotSettings, DraftSettings, Settings
from storage.models import Source
from storage.records import Deletion, Post, SourceError, note_of
from storage.store import Store
from tests.fakebot import FakeBotAPI, Message
from tests.handlers.english import english_sentences, words_of

ADMIN = 7001
EDITOR = 7002
JOURNALIST = 7003
STRANGER = 6666

BASE = datetime(2025, 12, 3, 9, 0, tzinfo=UTC)


# What the real listener says about these (sources.telegram.listener): msgids, as it raises them.
NO_SUCH_CHANNEL = (
    "@{channel}: no such channel on Telegram (missing, or renamed: check the channel's current "
    "link)"
)
NOT_A_USERNAME = (
    "not a channel username: '{value}' (expected @name or a t.me link, 4-32 letters, digits or _)"
)


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
            # As the real listener does: the note is the error's msgid and parameters, so
            # /sources and /status read it in each person's language.
            refused = SourceError(NO_SUCH_CHANNEL, channel=name)
            await self.store.sources.set_error(src.id, note_of(refused))
            raise refused
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


# Names the seed stores in English only (data: shown as they are in every language).
SEED_DATA = ("Ivanna Kovalenko", "Minister of Energy", "Taras Melnyk")


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


class Handling:
    """Counts the updates the dispatcher has taken up and finished (an outer middleware, so it
    spans a handler's whole run, every message it sends included): a test waits for its update
    to be handled instead of sleeping and hoping the handler was done by then."""

    def __init__(self) -> None:
        self.running = 0
        self.finished = 0
        self._changed = asyncio.Condition()

    async def __call__(
        self,
        handler: Callable[[Any, dict[str, Any]], Awaitable[Any]],
        event: Any,
        data: dict[str, Any],
    ) -> Any:
        self.running += 1
        try:
            return await handler(event, data)
        finally:
            self.running -= 1
            self.finished += 1
            async with self._changed:
                self._changed.notify_all()

    async def settled(self, finished: int, within: float = 10.0) -> None:
        """Until at least `finished` updates are handled and none is being handled."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: self.finished >= finished and self.running == 0)


class DeskBot:
    def __init__(self, api: FakeBotAPI, store: Store, dp: Dispatcher, lang: str = "en") -> None:
        self.api = api
        self.store = store
        self.dp = dp
        self.lang = lang
        self.handling = Handling()
        dp.update.outer_middleware(self.handling)
        self.tr = translator(lang)
        self.typed: list[str] = []  # what people sent: echoed back, it is data, not interface

    def t(self, msgid: str, /, **params: Any) -> str:
        """An interface text as the people of this desk read it."""
        return self.tr.gettext(msgid, **params)

    def everything_said(self) -> list[str]:
        """Every text the bot showed anyone: messages (as they stand after edits), button
        labels, button answers and command menus for this desk's language."""
        out: list[str] = []
        for m in self.api.sent_messages():
            out.append(m.text or "")
            markup = m.reply_markup or {}
            out.extend(b.get("text", "") for row in markup.get("inline_keyboard", []) for b in row)
        out.extend(str(a.get("text") or "") for a in self.api.callback_answers.values())
        for (_scope, code), commands in self.api.commands.items():
            if code in ("", self.lang):
                out.extend(c["description"] for c in commands)
        return out

    def english_sentences(self, records: list[str] | None = None) -> list[str]:
        data = words_of([*self.typed, *SEED_DATA, *(records or [])])
        return [run for text in self.everything_said() for run in english_sentences(text, data)]

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
        language_code: str | None = None,
        first_name: str | None = None,
    ) -> list[Message]:
        """Send a message as `user_id`; wait for `replies` new bot messages in the chat and for
        every progress note to be replaced by its result."""
        chat = user_id if chat_id is None else chat_id
        before = len(self.bot_messages(chat))
        handled = self.handling.finished + 1
        self.typed.append(text)
        if first_name:
            self.typed.append(first_name)  # a person's name is data, shown as they wrote it
        await self.api.inject_message(
            user_id,
            text,
            username=username,
            chat_id=chat_id,
            language_code=language_code,
            first_name=first_name,
        )

        def done(api: FakeBotAPI) -> bool:
            msgs = self.bot_messages(chat)
            return len(msgs) >= before + replies and not any(
                (m.text or "").startswith("⏳") for m in msgs[before:]
            )

        await self.api.wait_for(done, within)
        await self.handling.settled(handled, within)  # any further message of its handler
        return self.bot_messages(chat)[before:]

    async def send(self, user_id: int, text: str, **kwargs: Any) -> None:
        """Send a message as `user_id` and wait until the bot has handled it, whatever it
        answered (nothing, for talk the bot must ignore)."""
        handled = self.handling.finished + 1
        self.typed.append(text)
        await self.api.inject_message(user_id, text, **kwargs)
        await self.handling.settled(handled)

    async def press(self, user_id: int, data: str, message_id: int | None = None) -> str:
        handled = self.handling.finished + 1
        qid = await self.api.inject_callback(user_id, data, message_id=message_id)
        await self.api.wait_for(lambda api: qid in api.callback_answers)
        await self.handling.settled(handled)  # its edits after the answer
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
    lang: str = "en",
) -> AsyncIterator[DeskBot]:
    """A running desk whose people all read `lang` (the desk default too, so an admin from
    settings and a stranger read it as well). With `lang` other than English, leaving the block
    fails on any English sentence the bot showed anyone: interface text that escaped the
    catalogues. `db`: a SQLite path or PostgreSQL URL for the store (default: a file in
    tmp_path)."""
    db = db or str(tmp_path / "desk.sqlite")
    store = await Store.open(db)
    await seed(store, extra=extra_posts)
    if people:
        await store.people.add(role="editor", user_id=EDITOR, username="desk_editor", lang=lang)
        await store.people.add(role="journalist", user_id=JOURNALIST, lang=lang, tz="UTC")
    settings = Settings(
        db=db,
        # Replies are paced like alerts (1 s apart to one chat in production); a desk test
        # sends dozens of commands to a chat, so it paces as fast as the fake allows. Pacing
        # itself is tested in tests/delivery and test_hardening_handlers with its own settings.
        bot=BotSettings(
            admins=[ADMIN], chat_interval=0.0, global_rate=1000.0, group_per_minute=60_000
        ),
        drafts=DraftSettings(glossary=tmp_path / "glossary.toml"),
        lang=lang,
    )
    async with FakeBotAPI() as api:
        bot = api.bot()
        fl = listener(store) if callable(listener) else listener
        dp = build_dispatcher(store=store, settings=settings, listener=fl, status=status)
        desk = DeskBot(api, store, dp, lang)
        task = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=1))
        try:
            await api.wait_for(lambda a: bool(a.calls("getupdates")))
            yield desk
            if lang != "en":
                # The audit log's records (action names, details) are data, shown as stored.
                records = [
                    f"{act} {detail}" for _, _, act, detail in await store.state.audit_log()
                ]
                escaped = desk.english_sentences(records)
                assert not escaped, f"interface text outside the catalogues: {escaped}"
        finally:
            await dp.stop_polling()
            await asyncio.wait_for(task, 10)
            await store.close()
