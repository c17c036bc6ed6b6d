"""The error a rule an editor typed raises; its message says where and why."""

from __future__ import annotations


class RuleSyntaxError(ValueError):
    """A rule an editor typed that cannot be used; `position` is 0-based into the rule."""

    def __init__(self, message: str, position: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
