"""Telegram's own machine translation (messages.translateText) through the listener's account:
no extra service or key. Telegram decides who may use it (it may answer with an error for an
account without access); that comes back as a TranslationError like any provider failure."""

from __future__ import annotations

from telethon import TelegramClient, errors, functions, types

from sources.translation import TranslationError


class TelegramTranslator:
    name = "Telegram"

    def __init__(self, client: TelegramClient) -> None:
        self.client = client

    async def translate(self, text: str, *, source: str | None, target: str) -> str:
        request = functions.messages.TranslateTextRequest(
            to_lang=target, text=[types.TextWithEntities(text=text, entities=[])]
        )
        try:
            result = await self.client(request)
        except errors.FloodWaitError as exc:
            raise TranslationError(
                "{provider}: flood wait {seconds} s", provider="Telegram", seconds=exc.seconds
            ) from exc
        except errors.RPCError as exc:
            raise TranslationError(
                "{provider}: {error}", provider="Telegram", error=type(exc).__name__
            ) from exc
        except (ConnectionError, OSError) as exc:
            raise TranslationError("{provider}: not connected", provider="Telegram") from exc
        translated = [t.text for t in getattr(result, "result", [])]
        if not translated or not translated[0].strip():
            raise TranslationError("{provider}: empty answer", provider="Telegram")
        return str(translated[0])
