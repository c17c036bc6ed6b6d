"""The alert payload: the contract's shape, escaping, limits, edits, deletions, the demo feed."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from importlib import resources
from typing import Any

import pytest

from bot.desk.sources_file import parse_sources
from bot.drafting.alert import compose_alert
from bot.drafting.draft import DraftOptions, build_draft
from bot.drafting.html import utf16_len
from bot.drafting.quotes import QUOTE_CHARS
from bot.matching import Span, match_rule, parse_rule
from sources.jsonl import parse_line
from storage.models import Source, StoredPost
from storage.records import Post

# Telegram's own limit for a message (sendMessage: 1-4096 characters), written out here
# rather than taken from the code under test, so that a wrong constant there fails.
TELEGRAM_LIMIT = 4096

EVENING = datetime(2026, 11, 24, 16, 8, tzinfo=UTC)
PERMALINK = re.compile(r"^https://t\.me/[a-z][a-z0-9_]{3,31}/\d+$")


def stored(text: str, **kw: Any) -> StoredPost:
    base: dict[str, Any] = dict(
        id=41,
        source_id=3,
        channel="haiova_demo",
        message_id=900,
        date=EVENING,
        text=text,
        media=None,
        grouped_id=None,
        forward_from=None,
        forward_link=None,
        reply_to=None,
        links=(),
        edit_date=None,
        deleted_at=None,
        version=1,
    )
    base.update(kw)
    return StoredPost(**base)


def source(**kw: Any) -> Source:
    base: dict[str, Any] = dict(
        id=3,
        username="haiova_demo",
        peer_id=None,
        access_hash=None,
        title="Олена Гайова",
        person={"uk": "Олена Гайова", "en": "Olena Haiova", "ru": "Елена Гайова"},
        role={"uk": "секретарка РНБО", "en": "NSDC Secretary", "ru": "секретарь СНБО"},
        gender="f",
        last_message_id=0,
        last_post_at=None,
        reconcile_every=None,
        active=True,
        error=None,
    )
    base.update(kw)
    return Source(**base)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in {"b", "i", "u", "s", "code", "a"}
        self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        self.depth -= 1
        assert self.depth >= 0

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def visible(markup: str) -> str:
    p = _Text()
    p.feed(markup)
    p.close()
    assert p.depth == 0
    return "".join(p.parts)


def edit_alert(old: str, new: str, *, lang: str = "uk", hour: int = 18) -> dict[str, Any]:
    """The reply to an alert when its post was edited from `old` into `new` at `hour`:40 UTC."""
    return compose_alert(
        "edit",
        stored(new, edit_date=datetime(2026, 11, 24, hour, 40, tzinfo=UTC), version=2),
        source(),
        DraftOptions(lang=lang, tz="Europe/Kyiv"),
        previous_text=old,
    )


def check_contract(payload: dict[str, Any]) -> None:
    json.dumps(payload)  # the outbox stores it as JSON
    assert set(payload) == {"messages", "plain"}
    assert payload["messages"] and isinstance(payload["plain"], str)
    for n, message in enumerate(payload["messages"]):
        assert set(message) == {"html", "buttons"}
        assert utf16_len(message["html"]) <= TELEGRAM_LIMIT
        visible(message["html"])
        if n:
            assert message["buttons"] == []
        for row in message["buttons"]:
            for b in row:
                assert set(b) == {"text", "callback_data"}
                assert len(b["callback_data"].encode()) <= 64
                assert re.fullmatch(r"(full|mute|rel):\d+", b["callback_data"])


def test_new_alert_matches_the_contract() -> None:
    text = "Засідання завершено. Ухвалено рішення про обмін полоненими найближчим часом."
    rule = parse_rule("обмін полоненими")
    match = match_rule(rule, text, "haiova_demo")
    assert match is not None
    payload = compose_alert(
        "new",
        stored(text, media="photo"),
        source(),
        DraftOptions(lang="uk", tz="Europe/Kyiv", spans=match.spans),
    )
    check_contract(payload)
    assert payload["plain"] == (
        "Секретарка РНБО Олена Гайова повідомила у Telegram: "
        "«Ухвалено рішення про обмін полоненими найближчим часом».\n"
        "18:08, 24 листопада · https://t.me/haiova_demo/900\n"
        "Фото: t.me/haiova_demo"
    )
    first = payload["messages"][0]
    assert "<b>обмін</b> <b>полоненими</b>" in first["html"]
    assert [[b["callback_data"] for b in row] for row in first["buttons"]] == [
        ["full:41", "rel:41"],
        ["mute:3"],
    ]
    assert [b["text"] for b in first["buttons"][0]] == ["Повний текст", "Раніше"]


def test_hostile_post_is_shown_as_text() -> None:
    text = (
        'Увага <b>жирний</b> & <a href="javascript:x">посилання</a> &lt;тег&gt; '
        "\u200fRTL\u200e 🇺🇦👩‍👩‍👧 <script>alert(1)</script>."
    )
    payload = compose_alert(
        "new", stored(text), source(), DraftOptions(lang="en", tz="Europe/Kyiv")
    )
    check_contract(payload)
    markup = payload["messages"][0]["html"]
    assert "<a " not in markup and "<script" not in markup and "<b>жирний" not in markup
    # Every character shows, escaped, in the quote; house style only drops the emoji and
    # prints the straight quotation marks as typographic ones.
    shown = visible(markup).replace("‘", '"').replace("’", '"')
    assert text.replace(" 🇺🇦👩‍👩‍👧", "") in shown


def test_long_post_alert_splits_and_deletion_keeps_all_text() -> None:
    sentence = "Речення про енергетику & <ППО> з деталями для журналістів. "
    text = (sentence * 180).strip()  # about 10,600 characters
    start = text.index("енергетику")
    spans = [Span(start, start + 10, "енергетик")]
    new = compose_alert(
        "new", stored(text), source(), DraftOptions(lang="uk", tz="Europe/Kyiv", spans=spans)
    )
    check_contract(new)
    assert len(new["messages"]) == 1  # the quote is one sentence, not the whole post
    gone = compose_alert(
        "delete",
        stored(text),
        source(),
        DraftOptions(lang="uk", tz="Europe/Kyiv"),
        deleted_at=datetime(2026, 11, 24, 17, 30, tzinfo=UTC),
    )
    check_contract(gone)
    assert len(gone["messages"]) >= 3
    assert gone["plain"].startswith("🗑 Допис видалено о 19:30, 24 листопада")
    shown = " ".join(visible(m["html"]) for m in gone["messages"])
    # All of it, its last full stop after the closing guillemet as in any uk quote.
    assert "".join(text.removesuffix(".").split()) + "»." in "".join(shown.split())


def test_giant_sentence_without_punctuation_is_quoted_in_part_in_one_message() -> None:
    text = " ".join(["безкінечне"] + ["речення"] * 2000)
    payload = compose_alert(
        "new", stored(text), source(), DraftOptions(lang="ru", tz="Europe/Kyiv")
    )
    check_contract(payload)
    # It was quoted whole, over four messages: now its start, cut at a word and marked.
    assert len(payload["messages"]) == 1
    first, link = payload["plain"].splitlines()[:2]
    quote = first.split(": ", 1)[1]
    assert quote.startswith("«безкінечне речення") and quote.endswith(" речення…».")
    assert len(quote) <= QUOTE_CHARS + 3
    assert link.endswith("https://t.me/haiova_demo/900")


def test_edit_alert_shows_the_diff_and_the_update_time() -> None:
    old = "Ворог атакував Одесу дронами. Пошкоджено два будинки."
    new = "Ворог атакував Одесу дронами. Пошкоджено три будинки та школу."
    payload = edit_alert(old, new, lang="ru", hour=16)
    check_contract(payload)
    markup = payload["messages"][0]["html"]
    assert markup.startswith("✏️ Обновлено в 18:40\nЧто изменилось:\n")
    assert "<s>два</s> <u>три</u>" in markup
    assert "будинки <u>та школу</u>." in markup
    assert "Секретарь СНБО Елена Гайова сообщила в Telegram" in payload["plain"]


def test_an_edit_that_updates_every_figure_of_a_long_post_fits_one_message() -> None:
    # An official re-posted the evening figures over the morning ones in a long list by
    # region. The changes were a few words apart, so they ran into one stretch of the diff
    # that no cap reached: phone screens of struck-through figures in two messages before the
    # draft. The diff shows the first changes and counts the rest; "Full text" has all.
    regions = ["Київщина", "Харківщина", "Сумщина", "Полтавщина", "Одещина", "Чернігівщина"]
    rows = [f"{r} — {{n}} абонентів." for r in regions * 22]
    old = "Знеструмлені станом на ранок. " + " ".join(
        row.format(n=1000 + 37 * k) for k, row in enumerate(rows)
    )
    new = "Знеструмлені станом на вечір. " + " ".join(
        row.format(n=400 + 11 * k) for k, row in enumerate(rows)
    )
    assert 3000 < len(new) < 4096  # a long post, as Telegram allows
    payload = edit_alert(old, new)
    check_contract(payload)
    assert len(payload["messages"]) == 1, [len(m["html"]) for m in payload["messages"]]
    changes = payload["plain"].split("Що змінилося:\n")[1].split("\n\n")[0]
    assert changes.startswith("Знеструмлені станом на [-ранок-] {+вечір+}. Київщина — [-1000-]")
    assert len(changes) < 1500, len(changes)
    assert re.search(r"…і ще змін: \d+$", changes), changes[-200:]
    # A few changes are all shown, as before.
    few = old.replace("1037", "1038").replace("1074", "1075")
    small = edit_alert(old, few)
    assert "[-1037-] {+1038+}" in small["plain"] and "[-1074-] {+1075+}" in small["plain"]
    assert "…і ще" not in small["plain"]


def test_edit_without_previous_text_or_real_change_has_no_diff() -> None:
    text = "Оновлення без змін у словах."
    for prev in (None, "Оновлення   без змін у словах."):
        payload = compose_alert(
            "edit",
            stored(text),
            source(),
            DraftOptions(lang="uk", tz="Europe/Kyiv"),
            previous_text=prev,
        )
        check_contract(payload)
        assert "Що змінилося" not in payload["plain"]
        assert payload["plain"].startswith("✏️ Оновлено о 18:08")


@pytest.mark.parametrize(
    ("lang", "printed"),
    [
        (
            "uk",
            "Секретарка РНБО Олена Гайова наголосила у Telegram: «Переговори „у Женеві“ "
            "перенесено на тиждень. Делегація готова».",
        ),
        (
            "en",
            "Olena Haiova, NSDC Secretary, stressed on Telegram: “Переговори ‘у Женеві’ "
            "перенесено на тиждень. Делегація готова.”",
        ),
    ],
)
def test_a_deletion_prints_the_last_text_in_house_style(lang: str, printed: str) -> None:
    text = (
        '«Переговори "у Женеві" перенесено на тиждень. Делегація готова 🇺🇦.», — наголосила Гайова.'
    )
    start = text.index("Женеві")
    payload = compose_alert(
        "delete",
        stored(text),
        source(),
        DraftOptions(lang=lang, tz="Europe/Kyiv", spans=[Span(start, start + 6, "женева")]),
        deleted_at=datetime(2026, 11, 24, 17, 30, tzinfo=UTC),
    )
    check_contract(payload)
    assert payload["plain"].splitlines()[1] == printed
    assert "<b>Женеві</b>" in payload["messages"][0]["html"]


def test_delete_without_time_and_without_text() -> None:
    payload = compose_alert(
        "delete", stored("", media="photo"), None, DraftOptions(lang="en", tz="UTC")
    )
    check_contract(payload)
    assert payload["plain"].startswith("🗑 Post deleted. Last stored text:\n")
    assert "(post without text)" in payload["plain"]
    with pytest.raises(ValueError, match="unknown alert kind"):
        compose_alert("nope", stored("x"), None, DraftOptions(lang="en", tz="UTC"))  # type: ignore[arg-type]


def _demo_posts() -> list[tuple[Post, Source]]:
    data = resources.files("bot.data")
    specs = {
        s.username: s
        for s in parse_sources(data.joinpath("demo_sources.toml").read_text(encoding="utf-8"))
    }
    out: list[tuple[Post, Source]] = []
    lines = data.joinpath("demo_feed.jsonl").read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        event = parse_line(line, lineno=n)
        if not isinstance(event, Post):
            continue
        spec = specs.get(event.channel)
        src = source(
            username=event.channel,
            title=event.channel_title,
            person={
                lang: (spec.person.get(lang) if spec else None) for lang in ("uk", "en", "ru")
            },
            role={lang: (spec.role.get(lang) if spec else None) for lang in ("uk", "en", "ru")},
            gender=spec.gender if spec else None,
        )
        out.append((event, src))
    return out


def test_every_demo_post_gets_a_verbatim_quote_and_a_permalink() -> None:
    rule = parse_rule("обмін полоненими OR ППО OR енергетик* OR дрон* OR переговори")
    posts = _demo_posts()
    assert len(posts) >= 20
    for post, src in posts:
        row = stored(
            post.text,
            channel=post.channel,
            message_id=post.message_id,
            date=post.date,
            media=post.media,
            forward_from=post.forward_from,
            forward_link=post.forward_link,
        )
        match = match_rule(rule, post.text, post.channel)
        spans = match.spans if match else ()
        for lang in ("uk", "en", "ru"):
            payload = compose_alert(
                "new", row, src, DraftOptions(lang=lang, tz="Europe/Kyiv", spans=spans)
            )
            check_contract(payload)
            first, meta = payload["plain"].splitlines()[:2]
            draft = build_draft(row, src, DraftOptions(lang=lang, tz="Europe/Kyiv", spans=spans))
            if draft.styled is not None:
                assert draft.quote is not None and draft.quote in post.text
                assert first.endswith(draft.styled.text)
                assert_verbatim(draft.styled.text, draft.styled.origin, post.text)
                if spans:
                    assert any(draft.quote.find(post.text[s.start : s.end]) >= 0 for s in spans)
            link = meta.split(" · ")[-1]
            assert PERMALINK.match(link), link
            if not post.forward_from:
                assert link == f"https://t.me/{post.channel}/{post.message_id}"


_MARKS = set('«»„“”‘’"')


def assert_verbatim(printed: str, origin: tuple[int, ...], text: str) -> None:
    """Every printed character is the post's own (a quotation mark may change kind); what we
    added is marks and the final full stop only; nothing but emoji is left out."""
    for ch, at in zip(printed, origin, strict=True):
        if at < 0:
            assert ch in _MARKS or ch == ".", (printed, ch)
        elif ch != text[at]:
            assert ch in _MARKS and text[at] in _MARKS, (printed, ch, text[at])
