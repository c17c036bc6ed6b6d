"""The JSONL feed: parsing lines, reading a file, and following a file that grows."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sources.jsonl import MAX_LINE_BYTES, follow_feed, parse_line, read_feed
from storage.records import Deletion, Event, Post, SourceError


def _line(**fields: Any) -> str:
    base: dict[str, Any] = {
        "channel": "olena_haiova_rnbo",
        "id": 901,
        "date": "2025-11-18T11:00:18+02:00",
        "text": "Провела нараду щодо підготовки обміну полоненими.",
    }
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not ...}, ensure_ascii=False)


# ----------------------------------------------------------------------------- parse_line


def test_full_post_line() -> None:
    post = parse_line(
        _line(
            channel="@Olena_Haiova_RNBO",
            edit_date="2025-11-18T11:20:00+02:00",
            media="Photo",
            media_key="photo:2:5000001",
            grouped_id=13912377781,
            forward_from="Координаційний штаб",
            forward_link="https://t.me/koordshtab_polon/813",
            reply_to=900,
            links=["https://example.org/a", "https://example.org/b"],
            title="Олена Гайова | РНБО",
            channel_id=1777000111,
            views=1200,  # unknown keys are ignored
        )
    )
    assert post == Post(
        channel="olena_haiova_rnbo",
        message_id=901,
        date=datetime(2025, 11, 18, 9, 0, 18, tzinfo=UTC),
        text="Провела нараду щодо підготовки обміну полоненими.",
        edit_date=datetime(2025, 11, 18, 9, 20, tzinfo=UTC),
        media="photo",
        grouped_id=13912377781,
        forward_from="Координаційний штаб",
        forward_link="https://t.me/koordshtab_polon/813",
        reply_to=900,
        channel_id=1777000111,
        channel_title="Олена Гайова | РНБО",
        links=("https://example.org/a", "https://example.org/b"),
        media_key="photo:2:5000001",
    )


def test_minimal_post_line_and_media_only_post() -> None:
    post = parse_line('{"channel":"koordshtab_polon","id":814,"date":"2025-11-19T08:55:03Z"}')
    assert isinstance(post, Post)
    assert (post.text, post.media, post.edit_date, post.links) == ("", None, None, ())
    assert post.date == datetime(2025, 11, 19, 8, 55, 3, tzinfo=UTC)


def test_deletion_lines() -> None:
    gone = parse_line(_line(deleted=True, edit_date="2025-11-20T10:05:00+02:00"))
    assert gone == Deletion("olena_haiova_rnbo", (901,), datetime(2025, 11, 20, 8, 5, tzinfo=UTC))
    by_date = parse_line(_line(deleted=True, text=...))
    assert isinstance(by_date, Deletion)
    assert by_date.date == datetime(2025, 11, 18, 9, 0, 18, tzinfo=UTC)
    bare = parse_line('{"channel": "olena_haiova_rnbo", "id": 3, "deleted": true}')
    assert isinstance(bare, Deletion) and bare.message_ids == (3,)
    assert bare.date.tzinfo is not None  # "now", aware


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"channel": "olena_haiova_rnbo", "id": 1, ', "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        ("   ", "empty line"),
        (_line(channel=...), "'channel' .* is missing"),
        (_line(channel="no"), "'channel': not a channel username"),
        (_line(id="901"), "'id' is not a positive integer: '901'"),
        (_line(id=0), "'id' is not a positive integer: 0"),
        (_line(id=True), "'id' is not a positive integer"),
        (_line(date=...), "'date' is missing"),
        (_line(date="2025-11-18T11:00:18"), "'date' has no UTC offset"),
        (_line(date="вчора"), "'date' is not an ISO 8601 date"),
        (_line(date=1763456418), "'date' is not a date string"),
        (_line(edit_date="later"), "'edit_date' is not an ISO 8601 date"),
        # A mistyped year used to lead every newest-first search for good.
        (_line(date="2099-01-01T10:04:00+02:00"), "'date' is in the future"),
        (_line(edit_date="2099-01-01T10:04:00+02:00"), "'edit_date' is in the future"),
        (_line(deleted=True, edit_date="2099-01-01T10:04:00+02:00"), "'edit_date' is in the f"),
        (_line(text=["a"]), "'text' is not a string"),
        (_line(links="https://example.org"), "'links' is not a list of URLs"),
        (_line(links=[1]), "'links' is not a list of URLs"),
        (_line(grouped_id="7"), "'grouped_id' is not an integer"),
        (_line(reply_to=1.5), "'reply_to' is not an integer"),
        # Past SQLite's 64-bit integers: the line failed at the database and stalled the feed.
        (_line(id=2**64), r"'id' is out of range \(64-bit\): 18446744073709551616"),
        (_line(grouped_id=2**63), r"'grouped_id' is out of range \(64-bit\)"),
        (_line(channel_id=-(2**63) - 1), r"'channel_id' is out of range \(64-bit\)"),
        (_line(media=3), "'media' is not a string"),
        (_line(media_key="photo:2:1"), "'media_key' is given without 'media'"),
        (_line(media="photo", media_key=5000001), "'media_key' is not a string"),
        (_line(media="photo", media_key="photo 2 1"), "'media_key' is not a media identity"),
        (_line(media="photo", media_key="p" * 201), "'media_key' is not a media identity"),
        (_line(forward_link="t.me/x/1"), "'forward_link' is not a URL"),
        (_line(deleted="yes"), "'deleted' is not true or false"),
        # Half an emoji, escaped: it used to fail at the database on every retry and stall the
        # whole feed behind it.
        (_line(text="\ud83d").replace("\ud83d", "\\ud83d"), r"'text' is not valid Unicode"),
        (_line(links=["https://example.org/\udc00"]), "'links' is not valid Unicode"),
    ],
)
def test_bad_lines_say_where_and_what(line: str, expected: str) -> None:
    with pytest.raises(SourceError, match=rf"^feed\.jsonl:7: {expected}"):
        parse_line(line, lineno=7, path="feed.jsonl")


def test_a_writer_clock_a_little_ahead_of_ours_is_not_the_future() -> None:
    ahead = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    post = parse_line(_line(date=ahead))
    assert isinstance(post, Post) and post.date.isoformat() == ahead


def test_location_without_path_or_line() -> None:
    with pytest.raises(SourceError, match=r"^line 3: not a JSON object"):
        parse_line("7", lineno=3)
    with pytest.raises(SourceError, match=r"^feed line: not a JSON object"):
        parse_line("7")


# ----------------------------------------------------------------------------- read_feed


def _write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def test_read_feed_in_order_with_edits_and_deletions(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    _write_lines(
        path,
        [
            _line(),
            "",
            _line(
                text="Провела нараду щодо обміну полоненими і цивільними.",
                edit_date="2025-11-18T11:30:00+02:00",
            ),
            _line(id=902, date="2025-11-18T21:30:26+02:00", text="Санкції РНБО."),
            _line(id=902, deleted=True, edit_date="2025-11-18T22:00:00+02:00"),
        ],
    )
    events = list(read_feed(path))
    assert [type(e).__name__ for e in events] == ["Post", "Post", "Post", "Deletion"]
    first, edit = events[0], events[1]
    assert isinstance(first, Post) and isinstance(edit, Post)
    assert (first.message_id, edit.message_id) == (901, 901)
    assert first.edit_date is None and edit.edit_date is not None
    assert edit.text.endswith("і цивільними.")


def test_read_feed_stops_at_the_first_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    _write_lines(path, [_line(), _line(id=902), "{oops", _line(id=903)])
    seen: list[Event] = []
    with pytest.raises(SourceError, match=rf"^{path}:3: not valid JSON"):
        for event in read_feed(path):
            seen.append(event)
    assert len(seen) == 2


def test_read_feed_can_skip_bad_lines(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "feed.jsonl"
    _write_lines(path, [_line(), _line(id="x"), _line(id=903)])
    with caplog.at_level(logging.WARNING, logger="sources.jsonl"):
        events = list(read_feed(path, skip_bad=True))
    assert [e.message_ids[0] if isinstance(e, Deletion) else e.message_id for e in events] == [
        901,
        903,
    ]
    assert f"{path}:2: 'id' is not a positive integer" in caplog.text


def test_read_feed_last_line_without_newline_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_bytes(("\ufeff" + _line() + "\n" + _line(id=902)).encode("utf-8"))
    assert [e.message_id for e in read_feed(path) if isinstance(e, Post)] == [901, 902]


def test_read_feed_missing_or_undecodable(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        list(read_feed(tmp_path / "absent.jsonl"))
    path = tmp_path / "cp1251.jsonl"
    path.write_bytes((_line() + "\n").encode("utf-8") + _line(id=902).encode("cp1251") + b"\n")
    with pytest.raises(SourceError, match=r":2: not UTF-8"):
        list(read_feed(path))


# ----------------------------------------------------------------------------- follow_feed


class Follower:
    """Runs follow_feed in a task and records what it hands over."""

    def __init__(self, path: Path, offset: int = 0) -> None:
        self.path = path
        self.events: list[Event] = []
        self.offsets: list[int] = []
        self.stop = asyncio.Event()
        self.fail_on: Callable[[Event], bool] = lambda event: False
        self.task = asyncio.create_task(
            follow_feed(
                path,
                self.handle,
                offset=offset,
                poll_interval=0.01,
                stop=self.stop,
                on_offset=self.on_offset,
            )
        )

    async def handle(self, event: Event) -> None:
        if self.fail_on(event):
            raise RuntimeError("database is locked")
        self.events.append(event)

    async def on_offset(self, offset: int) -> None:
        self.offsets.append(offset)

    def ids(self) -> list[int]:
        return [e.message_id if isinstance(e, Post) else -e.message_ids[0] for e in self.events]

    async def until(self, check: Callable[[], bool]) -> None:
        for _ in range(500):  # a guard against hanging, not a timing assertion
            if check():
                return
            if self.task.done():
                self.task.result()
            await asyncio.sleep(0.01)
        raise AssertionError(f"follower never got there: {self.ids()} {self.offsets}")

    async def settle(self) -> None:
        """Let the follower poll a few more times (to show it did NOT pick something up)."""
        for _ in range(10):
            await asyncio.sleep(0.01)

    async def close(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, timeout=5)


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(text)


async def test_follow_reads_existing_then_appended_lines(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    _write_lines(path, [_line(), _line(id=902)])
    f = Follower(path)
    await f.until(lambda: f.ids() == [901, 902])
    _append(path, _line(id=903) + "\n" + _line(id=903, deleted=True) + "\n")
    await f.until(lambda: f.ids() == [901, 902, 903, -903])
    assert f.offsets[-1] == path.stat().st_size
    assert f.offsets == sorted(f.offsets) and len(f.offsets) == 4
    await f.close()


async def test_follow_waits_for_the_end_of_a_partial_line(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    _write_lines(path, [_line()])
    whole = _line(id=902, text="Санкції проти тіньового флоту Росії.")
    cut = len(whole) // 2
    _append(path, whole[:cut])
    f = Follower(path)
    await f.until(lambda: f.ids() == [901])
    await f.settle()
    assert f.ids() == [901]  # the half line is left alone
    assert f.offsets[-1] == len((_line() + "\n").encode("utf-8"))
    _append(path, whole[cut:])
    await f.settle()
    assert f.ids() == [901]  # complete text but still no newline
    _append(path, "\n")
    await f.until(lambda: f.ids() == [901, 902])
    last = f.events[-1]
    assert isinstance(last, Post) and last.text == "Санкції проти тіньового флоту Росії."
    await f.close()


async def test_follow_skips_bad_lines_and_logs_file_and_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "feed.jsonl"
    _write_lines(path, [_line(), '{"channel": "olena_haiova_rnbo"', _line(id=903)])
    path.write_bytes(path.read_bytes() + b"\xff\xfe not utf-8\n" + (_line(id=904) + "\n").encode())
    with caplog.at_level(logging.WARNING, logger="sources.jsonl"):
        f = Follower(path)
        await f.until(lambda: f.ids() == [901, 903, 904])
        await f.close()
    assert f"{path}:2: not valid JSON" in caplog.text
    assert f"{path}:4: not UTF-8" in caplog.text
    assert f.offsets[-1] == path.stat().st_size  # bad lines are consumed too


async def test_follow_resumes_from_an_offset_with_right_line_numbers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "feed.jsonl"
    _write_lines(path, [_line(), _line(id=902), _line(id=903), "not json", _line(id=905)])
    offset = len(("\n".join([_line(), _line(id=902)]) + "\n").encode("utf-8"))
    with caplog.at_level(logging.WARNING, logger="sources.jsonl"):
        f = Follower(path, offset=offset)
        await f.until(lambda: f.ids() == [903, 905])
        await f.close()
    assert f"{path}:4: not valid JSON" in caplog.text


async def test_follow_starts_over_after_truncation(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    _write_lines(path, [_line(), _line(id=902), _line(id=903)])
    f = Follower(path)
    await f.until(lambda: f.ids() == [901, 902, 903])
    _write_lines(path, [_line(id=950)])  # shorter than what was read: rewritten from scratch
    await f.until(lambda: f.ids() == [901, 902, 903, 950])
    assert f.offsets[-1] == path.stat().st_size
    await f.close()


async def test_follow_starts_over_after_rotation(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    _write_lines(path, [_line()])
    f = Follower(path)
    await f.until(lambda: f.ids() == [901])
    os.replace(path, tmp_path / "feed.jsonl.1")
    # The new file is already longer than the old offset: only its identity shows the change.
    _write_lines(
        path, [_line(id=960, text="Новий файл після ротації, довший за попередній рядок.")]
    )
    await f.until(lambda: f.ids() == [901, 960])
    await f.close()


async def test_follow_waits_for_a_file_that_does_not_exist_yet(tmp_path: Path) -> None:
    path = tmp_path / "later.jsonl"
    f = Follower(path, offset=0)
    await f.settle()
    assert f.events == [] and not f.task.done()
    _write_lines(path, [_line(id=970)])
    await f.until(lambda: f.ids() == [970])
    await f.close()


async def test_follow_edits_and_deletions_arrive_in_order(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_text("", encoding="utf-8")
    f = Follower(path)
    _append(path, _line() + "\n")
    await f.until(lambda: len(f.events) == 1)
    _append(path, _line(text="Виправлений текст.", edit_date="2025-11-18T11:40:00+02:00") + "\n")
    _append(path, _line(deleted=True, edit_date="2025-11-18T12:00:00+02:00") + "\n")
    await f.until(lambda: len(f.events) == 3)
    first, edit, gone = f.events
    assert isinstance(first, Post) and isinstance(edit, Post) and isinstance(gone, Deletion)
    assert edit.text == "Виправлений текст." and edit.edit_date is not None
    assert gone.date == datetime(2025, 11, 18, 10, 0, tzinfo=UTC)
    await f.close()


async def test_follow_stops_on_handler_failure_with_progress_saved(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    _write_lines(path, [_line(), _line(id=902), _line(id=903)])
    f = Follower(path)
    f.fail_on = lambda event: isinstance(event, Post) and event.message_id == 902
    with pytest.raises(RuntimeError, match="database is locked"):
        await asyncio.wait_for(f.task, timeout=5)
    assert f.ids() == [901]
    assert f.offsets == [len((_line() + "\n").encode("utf-8"))]  # resume at line 2


async def test_follow_returns_when_stopped(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    _write_lines(path, [_line()])
    f = Follower(path)
    await f.until(lambda: f.ids() == [901])
    await f.close()
    assert f.task.done() and f.task.exception() is None


async def test_follow_rejects_a_negative_offset(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="offset"):
        await follow_feed(tmp_path / "x", _noop, offset=-1, stop=asyncio.Event())


async def _noop(event: Event) -> None:
    del event


# ----------------------------------------------------------------------------- overlong lines
# A Telegram post is at most 4,096 characters; a feed line of many megabytes is a writer gone
# wrong. Held whole, a 110 MB line took 3.2 GB of memory to import: past the unit's and the
# container's 512 MB, `run --feed` was killed at that line on every restart.


def _overlong() -> str:
    return _line(id=902, text="слово " * (MAX_LINE_BYTES // 10))


def test_read_feed_refuses_an_overlong_line_and_says_where(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    _write_lines(path, [_line(), _overlong(), _line(id=903)])
    assert len(_overlong().encode()) > MAX_LINE_BYTES
    with pytest.raises(SourceError, match=rf"{path}:2: .*longer than a feed line may be"):
        list(read_feed(path))


def test_read_feed_skips_an_overlong_line_when_asked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "feed.jsonl"
    _write_lines(path, [_line(), _overlong(), _line(id=903)])
    events = list(read_feed(path, skip_bad=True))
    assert [e.message_id for e in events if isinstance(e, Post)] == [901, 903]
    assert f"{path}:2:" in caplog.text


def test_a_line_at_the_limit_is_read(tmp_path: Path) -> None:
    base = _line(id=902, text="")
    text = "x" * (MAX_LINE_BYTES - len(base.encode()))
    line = _line(id=902, text=text)
    assert len(line.encode()) == MAX_LINE_BYTES
    path = tmp_path / "feed.jsonl"
    _write_lines(path, [line])
    [post] = read_feed(path)
    assert isinstance(post, Post) and post.text == text


async def test_follow_skips_an_overlong_line_and_keeps_going(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "feed.jsonl"
    _write_lines(path, [_line(), _overlong(), _line(id=903)])
    with caplog.at_level(logging.WARNING, logger="sources.jsonl"):
        f = Follower(path)
        await f.until(lambda: f.ids() == [901, 903])
        await f.close()
    assert f"{path}:2:" in caplog.text and "longer than a feed line may be" in caplog.text
    assert f.offsets[-1] == path.stat().st_size
