"""The bot's command handlers: routers per audience, built by factories.

    dp = build_dispatcher(store=store, settings=settings, listener=listener, status=fn)
    await dp.start_polling(bot)

Order of the routers is the access policy: strangers are caught first and get one refusal;
then admin, editor and journalist routers, each filtered by role at the router; a fallback
answers what nobody handled (a command above your role, an unknown command). One errors
handler logs and answers "something went wrong" without details.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aiogram import Bot, Dispatcher, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, ErrorEvent, Message, ReplyParameters

from bot.delivery import replies
from bot.delivery.digest import DigestJobs
from bot.delivery.notifier import Notifier
from bot.delivery.pacer import Pacer
from bot.desk.desk import RANK, Desk, Follower
from bot.desk.glossary_file import GlossaryWatch
from bot.handlers.access import MinRole, RoleMiddleware, stranger_router
from bot.handlers.admin import admin_router
from bot.handlers.archive import PageStore, archive_router
from bot.handlers.common import (
    COMMANDS,
    ROLE_NAMES,
    EditedCommand,
    ThreadedAnswers,
    TypedText,
)
from bot.handlers.editor import editor_router
from bot.handlers.journalist import journalist_router
from bot.handlers.menu import set_commands
from bot.handlers.order import UpdateOrder
from bot.i18n import N_, Translator, pick_lang, translator
from bot.settings import Settings
from storage.models import Person
from storage.store import Store

log = logging.getLogger(__name__)

SORRY = N_("Something went wrong with that command; it has been logged. Please try again.")


def fallback_router() -> Router:
    router = Router(name="fallback")
    router.message.filter(MinRole("journalist"))
    router.callback_query.filter(MinRole("journalist"))
    needs = {name: role for name, role, _, _ in COMMANDS}

    @router.message(F.text.startswith("/"))
    async def unknown_command(message: Message, person: Person, tr: Translator) -> None:
        word = (message.text or "/").split()[0][1:].split("@")[0].lower()
        role = needs.get(word)
        if role is not None and RANK[person.role] < RANK[role]:
            await message.answer(
                tr.gettext(
                    "/{command} is for the role {role} and above; /help lists your commands.",
                    command=word,
                    role=tr.gettext(ROLE_NAMES[role]),
                )
            )
        else:
            await message.answer(tr.gettext("Unknown command; /help lists your commands."))

    @router.message()
    async def not_a_command(message: Message, tr: Translator) -> None:
        await message.answer(tr.gettext("Send a command: /help lists them, /search finds posts."))

    @router.edited_message()
    async def edited_remark() -> None:
        # Never reached for a command (EditedCommand hands those on as messages); registered
        # so that polling asks Telegram for edited messages at all.
        return None

    @router.callback_query()
    async def unknown_button(query: CallbackQuery, tr: Translator) -> None:
        await query.answer(tr.gettext("This button is no longer available."), show_alert=True)

    return router


def errors_router(default_lang: str = "uk") -> Router:
    router = Router(name="errors")

    @router.errors()
    async def on_error(event: ErrorEvent) -> bool:
        update = event.update
        log.error(
            "handler failed on update %s: %s",
            update.update_id,
            type(event.exception).__name__,
            exc_info=event.exception,
        )
        # The middleware may not have run (the failure can be its own): the person's language
        # is not known here, so the reply follows their app's language.
        user = (
            update.message.from_user
            if update.message is not None
            else update.callback_query.from_user
            if update.callback_query is not None
            else None
        )
        tr = translator(pick_lang(user.language_code if user else None, default=default_lang))
        try:
            if update.message is not None:
                # In a group, under the command it is about: several people type commands there.
                threaded = update.message.chat.type != "private"
                reply = (
                    ReplyParameters(
                        message_id=update.message.message_id, allow_sending_without_reply=True
                    )
                    if threaded
                    else None
                )
                await update.message.answer(tr.gettext(SORRY), reply_parameters=reply)
            elif update.callback_query is not None:
                await update.callback_query.answer(tr.gettext(SORRY)[:200], show_alert=True)
        except TelegramAPIError as exc:
            log.error("could not tell the user about the failure: %s", exc)
        return True

    return router


def build_routers(default_lang: str = "uk") -> list[Router]:
    """Fresh routers (aiogram refuses to attach one router to two dispatchers)."""
    return [
        errors_router(default_lang),
        stranger_router(),
        admin_router(),
        editor_router(),
        archive_router(),
        journalist_router(),
        fallback_router(),
    ]


def build_dispatcher(
    *,
    store: Store,
    settings: Settings,
    listener: Follower | None = None,
    digests: DigestJobs | None = None,
    status: Callable[[], Any] | None = None,
    notifier: Notifier | None = None,
) -> Dispatcher:
    """A Dispatcher with every router, the role middleware and the long-lived objects handlers
    ask for by name: store, settings, desk, listener, pages, status.

    `digests` (bot.delivery.digest.DigestJobs) re-schedules a person's daily digest after
    /digest or /tz; `notifier` lends its Pacer so that command replies share the alerts'
    pacing and 429 handling; `status` returns the service's live view (a dict, or the
    (healthy, dict) pair of the service's health check).
    """

    async def on_prefs(person: Person) -> None:
        if digests is not None:
            await digests.sync_person(person)

    desk = Desk(store, settings, listener=listener, on_prefs=on_prefs)
    dp = Dispatcher(
        store=store,
        settings=settings,
        desk=desk,
        listener=listener,
        pages=PageStore(),
        status=status,
        style=settings.drafts.house_style(),
        glossary=GlossaryWatch(settings.drafts.glossary),
    )
    # One person's updates, and every change of access, are handled in the order sent.
    dp.update.outer_middleware(EditedCommand())  # first: an edited command orders as one
    dp.update.outer_middleware(UpdateOrder())
    middleware = RoleMiddleware()
    dp.message.outer_middleware(ThreadedAnswers())  # a group's answers reply to the command
    dp.message.outer_middleware(TypedText())  # first: the role middleware reads the command
    dp.message.outer_middleware(middleware)
    dp.callback_query.outer_middleware(middleware)
    dp.include_routers(*build_routers(settings.lang))

    cfg = settings.bot
    pacer = (
        notifier.pacer
        if notifier is not None
        else Pacer(
            global_rate=cfg.global_rate,
            chat_interval=cfg.chat_interval,
            group_per_minute=cfg.group_per_minute,
            chat_burst=cfg.chat_burst,
        )
    )

    async def on_startup(bot: Bot) -> None:
        # Replies share the bot's Telegram budget with alerts: same pacing, same 429 handling.
        replies.install(bot, pacer, cfg, store)
        try:
            count = await set_commands(bot, store, settings.bot.admins, settings.lang)
            log.info("command menus set for %d people", count)
        except TelegramAPIError as exc:
            log.error("could not set the command menu: %s", exc)

    dp.startup.register(on_startup)
    return dp


__all__ = ["SORRY", "PageStore", "build_dispatcher", "build_routers", "set_commands"]
