"""Posts from a JSONL feed: one JSON object per line. The demo, tests and benchmarks use it, and
any tool can write it.

A line is a post as a source saw it at one moment:
`{"channel": "name", "id": 12, "date": "2025-03-01T09:15:00+02:00", "text": "..."}` with optional
`edit_date`, `media`, `media_key`, `grouped_id`, `forward_from`, `forward_link`, `reply_to`,
`links`, `title`, `channel_id`. A line repeating a channel and id with other text (or another
`media_key`: the picture swapped) is an edit (the pipeline decides); `"deleted": true` turns the
line into a Deletion. Unknown keys are ignored so that writers can carry extra fields.

`follow_feed` tails a growing file the way a log shipper does: it consumes complete lines only,
reports the byte offset after each one so the caller can resume there, and starts over when the
file is truncated or replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO, TypeGuard

from storage.records import (
    Deletion,
    Event,
    Post,
    SourceError,
    lone_surrogate,
    normalize_username,
)

log = logging.getLogger(__name__)

# The longest feed line (bytes, newline aside). A Telegram post is at most 4,096 characters:
# its line, every character escaped, is under 30 KB. A longer line is a writer gone wrong, and
# reading it whole could take the service's memory (a 110 MB line took 3.2 GB).
MAX_LINE_BYTES = 1 << 20
_CHUNK = MAX_LINE_BYTES + 1  # bytes read per poll: a line and its newline


# The string fields we keep: each must be text a database can store.
_STORED_STRINGS = ("text", "media", "media_key", "forward_from", "forward_link", "title", "links")
# A media identity is a short token ("photo:2:5000001"); anything longer is not one.
MEDIA_KEY_CHARS = 200
_INT_LIMIT = 2**63
# Clock skew between a feed's writer and us that still counts as "now".
FUTURE_SLACK = timedelta(days=1)


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _in_range(value: int) -> bool:
    # SQLite integers are signed 64-bit: a bigger number would fail at the database on every
    # retry and stall the feed behind it.
    return -_INT_LIMIT <= value < _INT_LIMIT


def _where(path: str, lineno: int) -> str:
    if path and lineno:
        return f"{path}:{lineno}"
    if lineno:
        return f"line {lineno}"
    return path or "feed line"


def _date(obj: dict[str, Any], key: str) -> datetime | None:
    raw = obj.get(key)
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ValueError(f"'{key}' is not a date string: {raw!r}"[:120])
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"'{key}' is not an ISO 8601 date: {raw[:40]!r}") from None
    if value.tzinfo is None:
        raise ValueError(f"'{key}' has no UTC offset (write e.g. {raw[:19]}+02:00)")
    if value > datetime.now(UTC) + FUTURE_SLACK:
        # Telegram never dates a post ahead of its own clock: such a line is a typo (a year, an
        # offset). Stored, it would lead every newest-first search for good and keep its
        # channel looking fresh in /status.
        raise ValueError(f"'{key}' is in the future: {raw[:40]!r}")
    return value


def _opt_str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"'{key}' is not a string: {value!r}"[:120])
    return value or None


def _opt_int(obj: dict[str, Any], key: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if not _is_int(value):
        raise ValueError(f"'{key}' is not an integer: {value!r}"[:120])
    if not _in_range(value):
        raise ValueError(f"'{key}' is out of range (64-bit): {value!r}"[:120])
    return value


def _check_unicode(obj: dict[str, Any]) -> None:
    for key in _STORED_STRINGS:
        value = obj.get(key)
        for item in value if isinstance(value, list) else (value,):
            if isinstance(item, str) and (problem := lone_surrogate(key, item)):
                raise ValueError(problem)


def _event(obj: dict[str, Any]) -> Event:
    _check_unicode(obj)
    channel_raw = obj.get("channel")
    if not isinstance(channel_raw, str):
        raise ValueError("'channel' (the channel username) is missing")
    try:
        channel = normalize_username(channel_raw)
    except SourceError as exc:
        raise ValueError(f"'channel': {exc}") from None
    message_id = obj.get("id")
    if not _is_int(message_id) or message_id <= 0:
        raise ValueError(f"'id' is not a positive integer: {message_id!r}"[:120])
    if not _in_range(message_id):
        raise ValueError(f"'id' is out of range (64-bit): {message_id!r}"[:120])
    date = _date(obj, "date")
    edit_date = _date(obj, "edit_date")
    channel_id = _opt_int(obj, "channel_id")

    deleted = obj.get("deleted", False)
    if not isinstance(deleted, bool):
        raise ValueError(f"'deleted' is not true or false: {deleted!r}"[:120])
    if deleted:
        when = edit_date or date or datetime.now(UTC)
        return Deletion(channel, (message_id,), when, channel_id=channel_id)

    if date is None:
        raise ValueError("'date' is missing")
    text = obj.get("text", "")
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise ValueError(f"'text' is not a string: {text!r}"[:120])
    links = obj.get("links") or []
    if not isinstance(links, list) or not all(isinstance(u, str) for u in links):
        raise ValueError("'links' is not a list of URLs")
    forward_link = _opt_str(obj, "forward_link")
    if forward_link is not None and not forward_link.startswith(("https://", "http://")):
        raise ValueError(f"'forward_link' is not a URL: {forward_link[:60]!r}")
    media = _opt_str(obj, "media")
    media_key = _opt_str(obj, "media_key")
    if media_key is not None:
        # What the picture or file is, as the listener records it (Telegram's own id and data
        # centre): a line repeating the post with another one is a picture swapped under the
        # same words. Compared as given, so it must be the same token every time.
        if media is None:
            raise ValueError("'media_key' is given without 'media' (photo, document, ...)")
        if len(media_key) > MEDIA_KEY_CHARS or not media_key.isprintable() or " " in media_key:
            raise ValueError(
                f"'media_key' is not a media identity (like photo:2:5000001): {media_key[:60]!r}"
            )
    return Post(
        channel=channel,
        message_id=message_id,
        date=date,
        text=text,
        edit_date=edit_date,
        media=media.lower() if media else None,
        grouped_id=_opt_int(obj, "grouped_id"),
        forward_from=_opt_str(obj, "forward_from"),
        forward_link=forward_link,
        reply_to=_opt_int(obj, "reply_to"),
        channel_id=channel_id,
        channel_title=_opt_str(obj, "title"),
        links=tuple(links),
        media_key=media_key,
    )


def parse_line(line: str, *, lineno: int = 0, path: str = "") -> Post | Deletion:
    """One feed line -> Post or Deletion; raises SourceError saying where and what is wrong."""
    where = _where(path, lineno)
    stripped = line.strip()
    if not stripped:
        raise SourceError(f"{where}: empty line")
    try:
        obj = json.loads(stripped)
    except json.JSONDecodeError as exc:
        raise SourceError(f"{where}: not valid JSON (column {exc.colno}: {exc.msg})") from None
    if not isinstance(obj, dict):
        raise SourceError(f"{where}: not a JSON object")
    try:
        event = _event(obj)
    except (ValueError, OverflowError) as exc:
        # SourceError is a ValueError too (Post's own checks): reword it with the location.
        raise SourceError(f"{where}: {exc}") from None
    # The line as written is the evidence of what the feed said.
    return replace(event, raw=stripped, origin="feed")


def read_feed(
    path: str | os.PathLike[str], *, skip_bad: bool = False
) -> Iterator[Post | Deletion]:
    """Every event of a feed file in order; blank lines are ignored.

    Raises SourceError on the first bad line, or logs and skips bad lines with `skip_bad`.
    """
    label = str(path)
    try:
        handle = open(path, "rb")  # noqa: SIM115 - the generator owns it until it ends
    except FileNotFoundError:
        raise SourceError(f"{label}: no such file") from None
    except OSError as exc:
        raise SourceError(f"{label}: cannot read: {exc.strerror or exc}") from None
    with handle:
        # Binary lines, decoded one by one: a bad byte is blamed on its own line.
        for lineno, raw in enumerate(_lines(handle), 1):
            if isinstance(raw, int):
                error = SourceError(_overlong(label, lineno, raw))
                if not skip_bad:
                    raise error
                log.warning("skipping bad feed line: %s", error)
                continue
            try:
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                error = SourceError(f"{label}:{lineno}: not UTF-8 text ({exc.reason})")
                if not skip_bad:
                    raise error from None
                log.warning("skipping bad feed line: %s", error)
                continue
            if not line.strip():
                continue
            try:
                yield parse_line(line, lineno=lineno, path=label)
            except SourceError as exc:
                if not skip_bad:
                    raise
                log.warning("skipping bad feed line: %s", exc)


def _overlong(label: str, lineno: int, size: int) -> str:
    return (
        f"{label}:{lineno}: a line of {size:,} bytes, longer than a feed line may be "
        f"({MAX_LINE_BYTES:,} bytes; a Telegram post is at most 4,096 characters)"
    )


def _lines(handle: BinaryIO) -> Iterator[bytes | int]:
    """The file's lines; for a line over MAX_LINE_BYTES, its length instead, found without
    holding it."""
    while raw := handle.readline(_CHUNK):
        if len(raw) < _CHUNK or raw.endswith(b"\n"):
            yield raw
            continue
        size = len(raw)
        while (more := handle.readline(_CHUNK)) and not more.endswith(b"\n"):
            size += len(more)
        yield size + len(more.rstrip(b"\n"))


def _read_from(path: str, offset: int) -> tuple[int, int, bytes, int] | None:
    """(inode, size, complete lines from `offset`, 0) or None when the file does not exist.

    Runs in a worker thread. Reads at least one whole line if there is one; a line over
    MAX_LINE_BYTES is not read but measured: (inode, size, b"", its length with its newline),
    or nothing (b"", 0) until its newline is written.
    """
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below; the with block wraps the rest
    except FileNotFoundError:
        return None
    with f:
        st = os.fstat(f.fileno())
        if st.st_size < offset:
            return st.st_ino, st.st_size, b"", 0
        f.seek(offset)
        data = f.read(_CHUNK)
        cut = data.rfind(b"\n")
        if cut < 0 and len(data) == _CHUNK:
            size = len(data)
            while more := f.read(_CHUNK):
                pos = more.find(b"\n")
                if pos >= 0:
                    return st.st_ino, st.st_size, b"", size + pos + 1
                size += len(more)
            return st.st_ino, st.st_size, b"", 0
        return st.st_ino, st.st_size, data[: cut + 1] if cut >= 0 else b"", 0


def _count_lines(path: str, offset: int) -> int:
    """Newlines before `offset`: the line number the follower resumes at, for its log lines."""
    count = 0
    try:
        with open(path, "rb") as f:
            left = offset
            while left > 0:
                block = f.read(min(left, _CHUNK))
                if not block:
                    break
                count += block.count(b"\n")
                left -= len(block)
    except FileNotFoundError:
        return 0
    return count


async def follow_feed(
    path: str | os.PathLike[str],
    handle: Callable[[Event], Awaitable[object]],
    *,
    offset: int = 0,
    poll_interval: float = 0.5,
    stop: asyncio.Event,
    on_offset: Callable[[int], Awaitable[None]] | None = None,
) -> None:
    """Feed every complete line from byte `offset` to `handle`, then keep watching for more.

    After each line, `on_offset` gets the byte offset just past it (bad lines are logged with
    file:line and skipped, and their offset is reported too). A partial last line waits for its
    newline. If the file shrinks below the offset, is replaced by another file or vanishes,
    reading starts again from 0 (of the new file, once it exists). An exception from `handle`
    or `on_offset` propagates: the offset reported so far is where a restart resumes.
    Returns when `stop` is set.
    """
    label = os.fspath(path)
    if offset < 0:
        raise ValueError(f"offset must be >= 0, got {offset}")
    lineno = await asyncio.to_thread(_count_lines, label, offset) if offset else 0
    inode: int | None = None
    missing_logged = False
    while not stop.is_set():
        got = await asyncio.to_thread(_read_from, label, offset)
        if got is None:
            if not missing_logged:
                log.info("feed %s does not exist (yet); waiting for it", label)
                missing_logged = True
            # Whatever file appears at this path next is a new one: read it from the start.
            inode, offset, lineno = None, 0, 0
        else:
            missing_logged = False
            ino, size, data, overlong = got
            if size < offset or (inode is not None and ino != inode):
                log.warning("feed %s was truncated or replaced; reading it from the start", label)
                offset, lineno = 0, 0
                inode = ino
                continue
            inode = ino
            if overlong:
                lineno += 1
                offset += overlong
                log.warning("skipping bad feed line: %s", _overlong(label, lineno, overlong - 1))
                if on_offset is not None:
                    await on_offset(offset)
                continue
            if data:
                offset, lineno = await _consume(data, label, offset, lineno, handle, on_offset)
                if stop.is_set():
                    return
                continue  # there may be more than one chunk waiting
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=poll_interval)


async def _consume(
    data: bytes,
    label: str,
    offset: int,
    lineno: int,
    handle: Callable[[Event], Awaitable[object]],
    on_offset: Callable[[int], Awaitable[None]] | None,
) -> tuple[int, int]:
    start = 0
    while start < len(data):
        end = data.index(b"\n", start) + 1
        raw = data[start:end]
        start = end
        lineno += 1
        offset += len(raw)
        event: Event | None = None
        if raw.strip():
            try:
                event = parse_line(raw.decode("utf-8-sig"), lineno=lineno, path=label)
            except UnicodeDecodeError:
                log.warning("skipping bad feed line: %s:%d: not UTF-8 text", label, lineno)
            except SourceError as exc:
                log.warning("skipping bad feed line: %s", exc)
        if event is not None:
            await handle(event)
        if on_offset is not None:
            await on_offset(offset)
    return offset, lineno
