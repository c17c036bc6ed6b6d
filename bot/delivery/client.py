"""The aiogram Bot the service sends with, on Telegram's Bot API or a local server."""

from __future__ import annotations

from aiogram import Bot

from bot.settings import TELEGRAM_BOT_API, BotSettings


class BotTokenError(ValueError):
    """The configured bot token cannot be a Telegram token."""


def make_bot(cfg: BotSettings) -> Bot:
    """The aiogram Bot for the configured token and Bot API server (a local one in tests)."""
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.utils.token import TokenValidationError

    assert cfg.token is not None
    if cfg.api_url.rstrip("/") == TELEGRAM_BOT_API:
        session = AiohttpSession()
    else:
        session = AiohttpSession(api=TelegramAPIServer.from_base(cfg.api_url.rstrip("/")))
    try:
        return Bot(cfg.token.get_secret_value(), session=session)
    except TokenValidationError as exc:
        raise BotTokenError("the bot token is malformed (expected 123456:ABC...)") from exc
