"""What a machine-translation provider is to the rest of the program.

Providers live where their client library may be imported: Telegram's own translateText next to
the listener (`sources.telegram.translate`, the only place telethon is allowed), DeepL and
LibreTranslate with the delivery code (`bot.delivery.translation`). Each raises
`TranslationError` with a message short enough to put in an alert ("DeepL: HTTP 429").
"""

from __future__ import annotations

from typing import Protocol


class TranslationError(Exception):
    """The provider did not translate; the message says which and why, for the journalist.

    Raised with a msgid and its parameters ("{provider}: HTTP {status}"), as storage's
    SourceError is: `str(exc)` is the English text for logs, and the reply a journalist reads
    says why in their language (bot.i18n reads `msgid` and `params`)."""

    def __init__(self, msgid: str, /, **params: object) -> None:
        self.msgid = msgid
        self.params = params
        super().__init__(msgid.format(**params) if params else msgid)


class Translator(Protocol):
    @property
    def name(self) -> str: ...

    async def translate(self, text: str, *, source: str | None, target: str) -> str:
        """`text` in `target` (uk, en or ru); `source` when known. Raises TranslationError."""
        ...
