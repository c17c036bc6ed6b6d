"""Hostile command arguments: quotes, FTS and SQL syntax, 5,000 characters, emoji, right-to-left
marks. Every message must get an answer and none may reach the error path."""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.desk.desk import DESK_CHATS_KEY
from bot.handlers import SORRY
from storage.records import USERNAME_RE
from tests.fakebot import FakeBotAPI
from tests.handlers.harness import ADMIN, EDITOR, JOURNALIST, DeskBot, running_desk

COMMAND_NAMES = [
    "search",
    "post",
    "export",
    "rules",
    "rule add",
    "rule my",
    "rule remove",
    "rule test",
    "lang",
    "tz",
    "mute",
    "unmute",
    "quiet",
    "digest",
    "digest daily",
    "pause",
    "sources",
    "watch",
    "unwatch",
    "status",
    "people",
    "people add",
    "people remove",
    "deskchat",
    "start",
    "help",
]
SENDERS = [ADMIN, EDITOR, JOURNALIST]

HOSTILE = [
    '"',
    '""',
    '"unclosed phrase',
    "-",
    "-енергетики",
    "x:word",
    "*",
    "*енерг",
    "AND",
    "OR OR",
    "NOT",
    "'",
    "?",
    "+",
    "%",
    "body:енергетики",
    "^енергетики",
    "NEAR(a b)",
    "a\"b'c",
    "'; DROP TABLE posts; --",
    "1 OR 1=1",
    '" OR ""="',
    "posts_fts MATCH '*'",
    "енергетики " * 500,
    "ж" * 5000,
    "🔥" * 300,
    "👨‍👩‍👧‍👦 енергетики",
    "\u200fمرحبا\u200f",
    "\u202eкордон\u202c",
    "\u200b",
    "<b>bold</b> & <script>",
    "&amp; &lt;",
    "/regex(/",
    "/(a+)+$/",
    "((((((((((енергетики",
    "from:@",
    "from:@x",
    "since:",
    "since:9999-99-99",
    "until:2025-13-40",
    "edited:maybe",
    "deleted:",
    "https://t.me/grid_ministry_demo/10",
    "https://t.me/",
    "@",
    "@@@@",
    "0",
    "-1",
    "99999999999999999999",
    "25:61-07:00",
    "23:00-23:00",
    "daily 24:00",
    "Europe/../../etc/passwd",
    "admin",
    "@a editor",
    "7003 admin",
    "\x00",
    "\t\n",
    "=cmd|' /C calc'!A0",
]


async def _fire(desk: DeskBot, texts: list[tuple[int, str]]) -> None:
    """Each message in its own group chat, so that every one can be checked for an answer. The
    groups are registered desk chats: elsewhere the bot would only refuse."""
    chats = json.dumps([-(10_000 + n) for n in range(len(texts))])
    await desk.store.state.set(DESK_CHATS_KEY, chats)
    handled = desk.handling.finished + len(texts)
    for n, (sender, text) in enumerate(texts):
        desk.typed.append(text)
        await desk.api.inject_message(sender, text, chat_id=-(10_000 + n))

    def answered(api: FakeBotAPI) -> bool:
        return all(api.sent_messages(-(10_000 + n)) for n in range(len(texts)))

    await desk.api.wait_for(answered, within=120)
    await desk.handling.settled(handled, within=120)  # and every further message
    for n in range(len(texts)):
        msgs = desk.api.sent_messages(-(10_000 + n))
        assert all(m.text != desk.t(SORRY) for m in msgs), texts[n]
        assert all(not (m.text or "").startswith("⏳") for m in msgs), texts[n]


async def test_handwritten_hostile_arguments(tmp_path: Path, lang: str) -> None:
    texts = [
        (SENDERS[i % 3], f"/{name} {arg}")
        for i, (name, arg) in enumerate(
            (name, arg)
            for arg in HOSTILE
            for name in ("search", "rule test", "watch", "mute", "export", "post", "people add")
        )
    ]
    async with running_desk(tmp_path, lang=lang) as desk:
        await _fire(desk, texts)
        # Nothing hostile was stored as a source, person or rule.
        assert all(USERNAME_RE.match(s.username) for s in await desk.store.sources.list())
        assert all(
            p.username is None or USERNAME_RE.match(p.username)
            for p in await desk.store.people.list(active_only=False)
        )
        assert await desk.store.posts.count() == 4


# Long arguments are a short drawn text repeated to 1,000-5,000 characters: drawing 5,000
# characters one by one would overrun Hypothesis's per-example buffer and make most draws
# invalid (which is what happened: 1 valid example of 560, hidden by suppressed health checks).
_LONG = st.tuples(
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=12),
    st.integers(min_value=1000, max_value=5000),
).map(lambda t: (t[0] * (t[1] // len(t[0]) + 1))[: t[1]])
_ARG = st.one_of(
    st.text(max_size=60),
    st.sampled_from(HOSTILE),
    st.lists(st.sampled_from([*HOSTILE, "енергетики", "кордон", "OR", "-", '"']), max_size=6).map(
        " ".join
    ),
    _LONG,
)
_MESSAGE = st.tuples(st.sampled_from(SENDERS), st.sampled_from(COMMAND_NAMES), _ARG)
BATCHES = 10
PER_BATCH = 100


@pytest.mark.slow
def test_generated_hostile_arguments() -> None:
    """10 batches of 100: 1,000 generated commands, each answered, none failing; in Ukrainian,
    so every answer is also checked for English that escaped the catalogues. The count is
    checked, not assumed: Hypothesis may discard draws, and discarded draws test nothing."""
    fired: list[int] = []

    @settings(max_examples=BATCHES, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
    @given(st.lists(_MESSAGE, min_size=PER_BATCH, max_size=PER_BATCH))
    def batch(messages: list[tuple[int, str, str]]) -> None:
        texts = [(sender, f"/{name} {arg}") for sender, name, arg in messages]

        async def run() -> None:
            with tempfile.TemporaryDirectory() as tmp:
                async with running_desk(Path(tmp), lang="uk") as desk:
                    await _fire(desk, texts)

        asyncio.run(run())
        fired.append(len(texts))

    batch()
    print(f"generated hostile commands: {sum(fired)} in {len(fired)} batches")
    assert sum(fired) >= BATCHES * PER_BATCH
