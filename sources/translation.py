"""What a machine-translation provider is to the rest of the program.

Providers live where their client library may be imported: Telegram's own translateText next to
the listener (`sources.telegram.translate`, the only place telethon is allowed), DeepL and
LibreTranslate with the delivery code (`bot.delivery.translation`). Each raises
`TranslationError` with a message short enough to put in an alert ("DeepL: HTTP 429").
"""

from __future__ import annotations

from typing import Protocol


class TranslationError(Exception):
    """The provider did not translate; the message says which and why, for the journalist."""


class Translator(Protocol):
    @property
    def name(self) -> str: ...

    async def translate(self, text: str, *, source: str | None, target: str) -> str:
        """`text` in `target` (uk, en or ru); `source` when known. Raises TranslationError."""
        ...
