"""The error a rule an editor typed raises; its message says where and why."""

from __future__ import annotations

from bot.i18n import LocalizedError


class RuleSyntaxError(LocalizedError):
    """A rule an editor typed that cannot be used; `position` is 0-based into the rule. The
    message is a msgid filled with `params` (bot.i18n): English in `str()`, the reader's
    language through `tr.error(exc)`."""

    def __init__(self, msgid: str, position: int = 0, /, **params: object) -> None:
        super().__init__(msgid, **params)
        self.message = str(self)
        self.position = position
