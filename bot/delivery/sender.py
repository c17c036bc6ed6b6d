"""One alert over the Bot API, within Telegram's limits.

What an alert goes out as (its messages, led by the post's photo where one is kept and
Telegram takes it), each message booked with the pacer and a 429 waited out in a bounded loop,
and an alert that a retry interrupted resumed where it stopped: the messages Telegram already
has are not sent again. What Telegram's answer means for the alert's row (sent, retry later,
failed, the person held) is the notifier's (`bot/delivery/notifier.py`), which catches what
`Sender.send` raises.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramRetryAfter,
)
from aiogram.types import BufferedInputFile, LinkPreviewOptions, ReplyParameters

from bot.delivery.pacer import Pacer
from bot.delivery.payload import OutMessage, as_plain, with_photo
from bot.delivery.refusals import caption_refused, chat_unknown, formatting_refused, reply_gone
from bot.delivery.replies import ALREADY_PACED
from bot.settings import BotSettings
from storage.media import MediaFolder
from storage.models import Alert
from storage.posts import PostRepo

# Its lines are the notifier's, under the logger they always had (operators filter by it).
log = logging.getLogger("bot.delivery.notifier")

PHOTO_MAX_BYTES = 10 * 1024 * 1024  # sendPhoto takes photos up to 10 MB


def _lead(photo: bytes, alert_id: int) -> OutMessage:
    """The photo alone, its draft following (as `with_photo` makes it); the one that stands for
    it in a resumed alert is never sent."""
    return OutMessage("", None, False, photo=photo, photo_name=f"alert{alert_id}.jpg")


def _alone(message: OutMessage) -> bool:
    """A photo without a caption, its draft following: none of the payload's messages."""
    return message.photo is not None and not message.html


async def _nothing(alert_id: int, message_id: int, parts: int) -> None:
    return None


class Throttled(Exception):
    """Still rate limited (429) after `max_attempts` waits."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"still rate limited after retries (retry_after {wait:g}s)")
        self.wait = wait


class Stopped(Exception):
    """The notifier was told to stop while the alert's next message waited for its slot;
    what went before it is on record (`mark_started`)."""


class Sender:
    """Sends alerts' messages; `throttled` counts the 429 answers (each one also a retry)."""

    def __init__(
        self,
        bot: Bot,
        settings: BotSettings,
        pacer: Pacer,
        *,
        media: MediaFolder | None,
        posts: PostRepo | None = None,
        stop: Callable[[], asyncio.Event],
        note_error: Callable[[str], None],
        started: Callable[[int, int, int], Awaitable[None]] | None = None,
    ) -> None:
        self.bot = bot
        self.settings = settings
        self.pacer = pacer
        self.media = media  # where the posts' photos are kept; None sends text only
        self.posts = posts  # what each version changed (a swapped picture goes with its follow-up)
        self._stop = stop  # the notifier's current stop event
        self._note_error = note_error
        self._started = started or _nothing  # records how far an alert has gone
        self.throttled = 0
        self._partial: dict[int, list[int]] = {}  # alert id -> ids of its messages sent so far
        # alert id -> the messages it goes out as (with or without the photo), fixed on the
        # first try so that a retry resumes the same sequence.
        self._plans: dict[int, list[OutMessage]] = {}
        # alert id -> how many of its payload's messages Telegram confirmed (a lead photo
        # alone is none of them), as recorded with `started`
        self._parts: dict[int, int] = {}

    async def send(
        self, alert: Alert, chat_id: int, messages: list[OutMessage], reply_to: int | None
    ) -> int:
        """What is left to send of `alert` (`messages`, parsed from its payload); the first
        message's id. Telegram's errors propagate; `Stopped`, `Throttled` as above. What was
        sent is kept for the next try until `forget`."""
        if alert.id not in self._partial and alert.tg_message_id is not None:
            # Before a restart part of the alert went (a photo its draft follows, the first
            # messages of a long draft): that is not sent again, whether or not the photo is
            # still on disk; the rest replies to the first message, as it would have.
            rest = messages[alert.parts_sent :]
            if not rest:
                return alert.tg_message_id
            self._partial[alert.id] = [alert.tg_message_id]
            self._plans[alert.id] = [_lead(b"", alert.id), *rest]
            self._parts[alert.id] = alert.parts_sent
        done = self._partial.setdefault(alert.id, [])
        plan = self._plans.get(alert.id)
        if plan is None:
            plan = self._plans[alert.id] = await self._with_photo(alert, messages)
        index = len(done)  # messages sent before a retry interrupted this alert
        unthreaded = False
        while index < len(plan):
            message = plan[index]
            target = None if unthreaded else reply_to if index == 0 else done[0]
            try:
                # A stop may cut the wait before any message: what went is on record
                # (`mark_started`), so a restart sends the rest and repeats nothing.
                message_id = await self._message(alert, chat_id, message, target)
            except (TelegramBadRequest, TelegramEntityTooLarge) as exc:
                # 413: an upload over Telegram's limit, which only a photo is
                if target is not None and reply_gone(exc):
                    # The journalist deleted the alert this one replies to: the follow-up
                    # still goes, on its own, rather than failing for a thread.
                    log.warning(
                        "notifier: alert %s: %s; sent without the reply", alert.id, exc.message
                    )
                    unthreaded = True
                    continue
                if not message.plain and formatting_refused(exc):
                    # The words still go: a tag Telegram will not parse failed the whole
                    # alert for good, and the journalist never heard of the story.
                    log.warning(
                        "notifier: alert %s message %d formatting refused (%s); plain text",
                        alert.id,
                        index + 1,
                        exc.message,
                    )
                    plan = self._plans[alert.id] = [
                        *plan[:index],
                        as_plain(message),
                        *plan[index + 1 :],
                    ]
                    continue
                if message.photo is None or done or chat_unknown(exc):
                    raise
                if message.html and caption_refused(exc):
                    # Telegram counts the caption over its limit where we did not: the picture
                    # first, the draft after it, as for a draft we measured too long.
                    log.warning(
                        "notifier: alert %s caption refused; draft after the photo", alert.id
                    )
                    plan = self._plans[alert.id] = [
                        replace(message, html="", markup=None, plain=False),
                        replace(message, photo=None),
                        *plan[index + 1 :],
                    ]
                    continue
                # Telegram refused the picture (dimensions, format): the draft still goes.
                log.warning("notifier: alert %s photo refused (%s); text only", alert.id, exc)
                plan = self._plans[alert.id] = messages
                continue
            done.append(message_id)
            index += 1
            if not _alone(message):
                self._parts[alert.id] = self._parts.get(alert.id, 0) + 1
            if index < len(plan):
                await self._started(alert.id, done[0], self._parts.get(alert.id, 0))
        return done[0]

    def forget(self, alert_id: int) -> None:
        """The alert is settled (or starts over): drop what was kept for its next try."""
        self._partial.pop(alert_id, None)
        self._plans.pop(alert_id, None)
        self._parts.pop(alert_id, None)

    async def _with_photo(self, alert: Alert, messages: list[OutMessage]) -> list[OutMessage]:
        """A new alert about a post with a kept photo carries it (unless turned off), and so
        does a follow-up of an edit that swapped the post's picture: "the image now reads «…»"
        without the image left the journalist to find it in the channel."""
        if self.media is None or not self.settings.alert_photos or alert.post_id is None:
            return messages
        if alert.kind == "new":
            found = await self.media.first_photo(alert.post_id, max_bytes=PHOTO_MAX_BYTES)
        elif alert.kind == "edit" and await self._swapped_media(alert):
            found = await self._swapped_photo(alert.post_id)
        else:
            return messages
        if found is None:
            return messages
        return with_photo(messages, *found)

    async def _swapped_media(self, alert: Alert) -> bool:
        """The version the follow-up is about replaced the post's picture or file."""
        if self.posts is None or alert.post_id is None:
            return False
        for version in await self.posts.versions(alert.post_id):
            if version.version == alert.version:
                return "media" in (version.changed or ())
        return False

    async def _swapped_photo(self, post_id: int) -> tuple[bytes, str] | None:
        """The photo put in place of another: of an album, the one swapped (the channel's first
        photo may be one the edit left alone). None when no photo took another's place (a file
        was swapped, or the replaced picture was kept before pictures had an identity and
        cannot be told from the new one): a picture the journalist has already seen is not
        sent as the new one."""
        assert self.media is not None
        shown = await self.media.repo.of_post(post_id, up_only=True)
        current = {pf.file.sha256 for pf in shown}
        replaced = {
            pf.message_id
            for pf in await self.media.repo.of_post(post_id)
            if pf.file.sha256 not in current
        }
        for pf in shown:
            f = pf.file
            if pf.message_id not in replaced or f.kind != "photo" or f.removed:
                continue
            if f.size > PHOTO_MAX_BYTES:
                continue  # sendPhoto would refuse it
            try:
                data = await asyncio.to_thread(self.media.path(f).read_bytes)
            except OSError:
                continue  # removed under us: the follow-up goes without it
            return data, f"{f.sha256[:16]}{f.ext}"
        return None

    async def _message(
        self,
        alert: Alert,
        chat_id: int,
        message: OutMessage,
        reply_to: int | None,
    ) -> int:
        """One Bot API message; waits out 429s in a bounded loop. Returns its message id."""
        for throttles in range(1, self.settings.max_attempts + 1):
            booked = False
            while not booked:
                delay, booked = self.pacer.reserve(chat_id)
                # Nothing is in flight during the wait and what went is on record: a stop
                # interrupts it, and the restart sends the rest.
                if delay > 0 and not await self._pause(delay):
                    raise Stopped
            # Booked above: the session's reply middleware must not book it a second time.
            paced = ALREADY_PACED.set(True)
            reply = (
                ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
                if reply_to is not None
                else None
            )
            try:
                if message.photo is not None:
                    photo = await self.bot.send_photo(
                        chat_id=chat_id,
                        photo=BufferedInputFile(message.photo, filename=message.photo_name),
                        caption=message.html or None,
                        parse_mode="HTML" if message.html and not message.plain else None,
                        reply_markup=message.markup,
                        reply_parameters=reply,
                    )
                    return photo.message_id
                sent = await self.bot.send_message(
                    chat_id=chat_id,
                    text=message.html,
                    parse_mode=None if message.plain else "HTML",
                    reply_markup=message.markup,
                    reply_parameters=reply,
                    link_preview_options=LinkPreviewOptions(is_disabled=not message.preview),
                )
                return sent.message_id
            except TelegramRetryAfter as exc:
                wait = float(min(exc.retry_after, self.settings.retry_after_max))
                self.throttled += 1
                self.pacer.penalize(chat_id, wait)
                self._note_error(f"chat {chat_id}: 429 retry after {exc.retry_after}s")
                log.warning(
                    "notifier: alert %s to chat %s rate limited (%d), waiting %.1fs",
                    alert.id,
                    chat_id,
                    throttles,
                    wait,
                )
                if throttles >= self.settings.max_attempts:
                    raise Throttled(wait) from exc
            finally:
                ALREADY_PACED.reset(paced)
        raise AssertionError("unreachable: the loop returns or raises")

    async def _pause(self, delay: float) -> bool:
        """Sleep `delay` seconds; False if the notifier was told to stop meanwhile."""
        stop = self._stop()
        if stop.is_set():
            return False
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await stop.wait()
        return not stop.is_set()


__all__ = ["PHOTO_MAX_BYTES", "Sender", "Stopped", "Throttled"]
