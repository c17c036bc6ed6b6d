"""The bundled demo data holds together: the feed parses, covers every shape the brief asks for,
names only demo channels, and the demo rules match a good share of it through inflected forms."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from pathlib import Path

import pytest

from bot.desk.sources_file import load_sources_file
from bot.matching import Matcher, parse_rule
from sources.jsonl import read_feed
from storage.records import Deletion, Post

DATA = Path(__file__).resolve().parents[2] / "bot" / "data"


@pytest.fixture(scope="module")
def events() -> list[Post | Deletion]:
    return list(read_feed(DATA / "demo_feed.jsonl"))


@pytest.fixture(scope="module")
def posts(events: list[Post | Deletion]) -> list[Post]:
    return [e for e in events if isinstance(e, Post)]


def _rules() -> list[str]:
    lines = (DATA / "demo_rules.txt").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def test_feed_has_every_shape(events: list[Post | Deletion], posts: list[Post]) -> None:
    keys = Counter((p.channel, p.message_id) for p in posts)
    assert len(keys) >= 60  # distinct posts; repeats are edits
    edits = [p for p in posts if keys[p.channel, p.message_id] > 1]
    assert any(p.edit_date is not None for p in edits)  # the repeat carries its edit date
    deletions = [e for e in events if isinstance(e, Deletion)]
    assert len(deletions) == 1
    gone = deletions[0]
    assert (gone.channel, gone.message_ids[0]) in keys  # deletes a post the feed has

    albums = Counter(p.grouped_id for p in posts if p.grouped_id is not None)
    (album_id, size), *_ = albums.most_common(1)
    assert size >= 3
    captions = [p for p in posts if p.grouped_id == album_id and p.text]
    assert len(captions) == 1

    forwards = [p for p in posts if p.forward_from and p.forward_link]
    assert forwards
    assert any(p.media for p in posts) and any(p.reply_to for p in posts)
    assert any("<b>" in p.text and "&" in p.text and "<a href=" in p.text for p in posts)

    dates = [p.date for p in posts]
    assert (max(dates) - min(dates)).days >= 2
    raw = (DATA / "demo_feed.jsonl").read_text(encoding="utf-8").splitlines()
    assert all(json.loads(line)["date"].endswith("+02:00") for line in raw if '"date"' in line)


def test_feed_languages(posts: list[Post]) -> None:
    ukrainian = sum(any(ch in p.text for ch in "іїєґ") for p in posts)
    russian = sum(any(ch in p.text for ch in "ыэъё") for p in posts)
    english = sum(p.text[:1].isascii() and p.text[:1].isalpha() for p in posts)
    assert ukrainian > len(posts) // 2 and russian >= 3 and english >= 4


def test_feed_channels_are_the_demo_sources(posts: list[Post]) -> None:
    specs = load_sources_file(DATA / "demo_sources.toml")
    names = {s.username for s in specs}
    assert len(specs) >= 5
    assert {p.channel for p in posts} == names
    for spec in specs:
        assert 5 <= len(spec.username) <= 32
        assert set(spec.role) == {"uk", "en", "ru"}
        assert not spec.person or set(spec.person) == {"uk", "en", "ru"}
    assert sum(1 for s in specs if not s.person) >= 2  # institutions


def test_forward_link_points_at_the_original(posts: list[Post]) -> None:
    by_key = {(p.channel, p.message_id): p for p in posts}
    for post in posts:
        if post.forward_link:
            channel, _, msg_id = post.forward_link.removeprefix("https://t.me/").partition("/")
            original = by_key[channel, int(msg_id)]
            assert original.text == post.text
            assert original.date < post.date


def test_demo_rules_match_a_good_share_through_word_forms(posts: list[Post]) -> None:
    rules = _rules()
    assert 6 <= len(rules) <= 10
    matcher = Matcher()
    for rule_id, query in enumerate(rules, 1):
        matcher.add(rule_id, parse_rule(query))
    hits = {(p.channel, p.message_id): matcher.match(p.text, p.channel) for p in posts}
    matched = [k for k, found in hits.items() if found]
    assert len(matched) >= len(hits) * 0.4
    assert len(hits) - len(matched) >= 15  # and plenty that should not alert
    per_rule = Counter(m.rule_id for found in hits.values() for m in found)
    assert set(per_rule) == set(range(1, len(rules) + 1))  # every rule earns its place

    # Inflected forms, not the dictionary forms written in the rules, did the matching.
    words = {
        post.text[s.start : s.end].lower()
        for post in posts
        for m in hits[post.channel, post.message_id]
        for s in m.spans
    }
    assert {"полоненими", "обміну", "вербицьким", "гайовою"} <= words


@pytest.mark.parametrize(
    "text",
    [
        "Обмінялися досвідом з колегами щодо цифрових послуг.",
        "Сьогодні у Києві мінус два, без опадів.",
        "Дякуємо, що тримаєте мобільний зв'язок навіть у блекаут.",
    ],
)
def test_near_misses_stay_quiet(text: str) -> None:
    matcher = Matcher()
    for rule_id, query in enumerate(_rules(), 1):
        matcher.add(rule_id, parse_rule(query))
    assert matcher.match(text, "genstaff_zvedennia") == []


def test_album_items_share_a_date(posts: list[Post]) -> None:
    albums = sorted(
        (p for p in posts if p.grouped_id is not None), key=lambda p: (p.grouped_id, p.message_id)
    )
    for _, items in itertools.groupby(albums, key=lambda p: p.grouped_id):
        group = list(items)
        assert (group[-1].date - group[0].date).total_seconds() < 5
