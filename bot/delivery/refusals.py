"""What Telegram's 400 answers mean, read once for alerts (`sender.py`) and command replies
(`replies.py`): which refusals the same words would get past, sent another way."""

from __future__ import annotations

from aiogram.exceptions import TelegramAPIError


def chat_unknown(exc: TelegramAPIError) -> bool:
    """Telegram's 400 to a bot writing first to a user who has not opened it (the private
    chat exists for a bot only once the person writes): nothing is wrong with the alert or
    its photo; the person cannot be reached yet, as after a block."""
    return "chat not found" in exc.message.lower()


def formatting_refused(exc: TelegramAPIError) -> bool:
    """Telegram could not read the message's HTML ("can't parse entities"); the same words
    without formatting would go."""
    return "can't parse entities" in exc.message.lower()


def reply_gone(exc: TelegramAPIError) -> bool:
    """Telegram has no message to reply to (the person deleted it), although asked to send
    without the reply then."""
    text = exc.message.lower()
    return "replied not found" in text or "reply message not found" in text


def caption_refused(exc: TelegramAPIError) -> bool:
    return "caption is too long" in exc.message.lower()


def text_too_long(exc: TelegramAPIError) -> bool:
    """A message's text over Telegram's 4,096 characters (its caption is `caption_refused`)."""
    text = exc.message.lower()
    return "message is too long" in text or "text is too long" in text


def edit_gone(exc: TelegramAPIError) -> bool:
    """The message to be edited is gone (the person deleted a progress note, "⏳ …")."""
    text = exc.message.lower()
    return "message to edit not found" in text or "message can't be edited" in text


__all__ = [
    "caption_refused",
    "chat_unknown",
    "edit_gone",
    "formatting_refused",
    "reply_gone",
    "text_too_long",
]
