"""The Telegram Desktop export importer, on hand-written exports and on broken ones."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sources.export import load_export
from storage.records import Post, SourceError
from tests.gen_export import generate_export

DATA = Path(__file__).parents[1] / "data"
CHANNEL = DATA / "export_channel" / "result.json"
ACCOUNT = DATA / "export_account" / "result.json"
CHANNEL_ID = 1873402219
GENSTAFF_ID = 1654098731
INTEL_ID = 1590213377


def _by_id(posts: list[Post]) -> dict[int, Post]:
    return {p.message_id: p for p in posts}


def _write(tmp_path: Path, doc: Any, name: str = "result.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def _channel_doc() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(CHANNEL.read_text(encoding="utf-8"))
    return doc


# ----------------------------------------------------------------------------- single channel


def test_channel_export_every_message_shape() -> None:
    result = load_export(CHANNEL, source="@Taras_Verbytskyi")
    posts = _by_id(result.posts)
    # 17 messages, two of them service messages (channel created, message pinned).
    assert sorted(posts) == [2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17]
    assert [p.message_id for p in result.posts] == sorted(posts)
    assert result.skipped == []
    (channel,) = result.channels
    assert (channel.username, channel.channel_id, channel.posts, channel.service_messages) == (
        "taras_verbytskyi",
        CHANNEL_ID,
        15,
        2,
    )
    for post in result.posts:
        assert post.channel == "taras_verbytskyi"
        assert post.channel_id == CHANNEL_ID
        assert post.channel_title == "Тарас Вербицький"
        assert post.grouped_id is None  # exports do not say which photos formed an album

    plain = posts[2]
    assert plain.text.startswith("Доброго ранку! Сьогодні працюю в Брюсселі")
    # date_unixtime wins over the naive local `date` (09:12:40 in Kyiv, UTC+2).
    assert plain.date == datetime(2025, 11, 17, 7, 12, 40, tzinfo=UTC)
    assert plain.media is None and plain.edit_date is None and plain.links == ()

    parts = posts[3]  # bold, text_link, mention and hashtag parts joined into one text
    assert parts.text == (
        "Провів переговори з міністром закордонних справ Норвегії. Обговорили новий пакет "
        "підтримки енергетики та ремонт підстанцій, пошкоджених ударами. Деталі — на сайті МЗС. "
        "Дякую @nordic_partners_demo за оперативність. #енергетика"
    )
    assert parts.links == ("https://example.org/mfa/news/norway-energy",)

    edited = posts[4]
    assert edited.edit_date == datetime(2025, 11, 17, 14, 10, 55, tzinfo=UTC)

    assert [posts[i].media for i in (5, 6, 7)] == ["photo"] * 3
    assert posts[5].text.startswith("Підписали меморандум") and posts[6].text == ""
    assert posts[8].media == "document"
    assert posts[9].forward_from == "Генштаб: зведення (демо)"
    assert posts[10].reply_to == 8
    assert posts[10].links == ()  # a visible `link` part is in the text, not hidden
    assert "https://example.org/mfa/en" in posts[10].text
    assert posts[12].media == "video"
    assert posts[13].media == "voice" and posts[13].text == ""
    assert posts[14].links == ("https://example.org/mfa/en/statement-norway",)
    assert posts[14].text.startswith("Important: Ukraine and Norway")
    assert posts[15].media == "sticker"
    # Untrusted text is kept verbatim; escaping is the renderer's job.
    assert '"<b>терміново</b> & <a href="https://example.org">тут</a>"' in posts[16].text


def test_export_folder_is_accepted(tmp_path: Path) -> None:
    folder = tmp_path / "ChatExport_2025-11-19"
    folder.mkdir()
    (folder / "result.json").write_bytes(CHANNEL.read_bytes())
    assert len(load_export(folder, source="taras_verbytskyi").posts) == 15


def test_channel_known_by_id_needs_no_source() -> None:
    result = load_export(CHANNEL, known={CHANNEL_ID: "@taras_verbytskyi"})
    assert len(result.posts) == 15 and result.posts[0].channel == "taras_verbytskyi"


def test_unnamed_channel_is_skipped_not_guessed() -> None:
    result = load_export(CHANNEL, known={GENSTAFF_ID: "genstaff_zvedennia"})
    assert result.posts == [] and result.channels == []
    (skipped,) = result.skipped
    assert (skipped.name, skipped.id) == ("Тарас Вербицький", CHANNEL_ID)
    assert "username unknown" in skipped.reason


def test_source_that_contradicts_a_known_channel_is_refused() -> None:
    with pytest.raises(SourceError, match="already known as @taras_verbytskyi"):
        load_export(CHANNEL, source="@someone_else", known={CHANNEL_ID: "taras_verbytskyi"})


def test_bad_source_username_is_refused() -> None:
    with pytest.raises(SourceError, match="not a channel username"):
        load_export(CHANNEL, source="@no")


def test_group_export_cannot_be_imported_as_a_channel(tmp_path: Path) -> None:
    doc = _channel_doc()
    doc["type"] = "private_supergroup"
    path = _write(tmp_path, doc)
    with pytest.raises(SourceError, match="private_supergroup, not a channel"):
        load_export(path, source="@taras_verbytskyi")
    result = load_export(path)
    assert result.posts == [] and "not a channel" in result.skipped[0].reason


def test_old_export_without_unixtime_uses_the_given_zone(tmp_path: Path) -> None:
    doc = _channel_doc()
    for msg in doc["messages"]:
        msg.pop("date_unixtime")
        msg.pop("edited_unixtime", None)
    path = _write(tmp_path, doc)
    posts = _by_id(
        load_export(path, source="taras_verbytskyi", local_tz=ZoneInfo("Europe/Kyiv")).posts
    )
    assert posts[2].date == datetime(2025, 11, 17, 7, 12, 40, tzinfo=UTC)
    assert posts[4].edit_date == datetime(2025, 11, 17, 14, 10, 55, tzinfo=UTC)
    kyiv_new_york = load_export(
        path, source="taras_verbytskyi", local_tz=ZoneInfo("America/New_York")
    )
    assert _by_id(kyiv_new_york.posts)[2].date == datetime(2025, 11, 17, 14, 12, 40, tzinfo=UTC)


def test_text_entities_alone_are_enough(tmp_path: Path) -> None:
    doc = _channel_doc()
    msg = doc["messages"][2]  # id 3, the post with a text_link
    del msg["text"]
    posts = _by_id(load_export(_write(tmp_path, doc), source="taras_verbytskyi").posts)
    assert posts[3].text.startswith("Провів переговори з міністром закордонних справ Норвегії.")
    assert posts[3].links == ("https://example.org/mfa/news/norway-energy",)


# ----------------------------------------------------------------------------- whole account


def test_account_export_maps_known_channels_and_reports_the_rest() -> None:
    result = load_export(
        ACCOUNT, known={GENSTAFF_ID: "genstaff_zvedennia", INTEL_ID: "rozvidka_hur_demo"}
    )
    assert [(c.username, c.channel_id, c.posts, c.service_messages) for c in result.channels] == [
        ("genstaff_zvedennia", GENSTAFF_ID, 3, 1),
        ("rozvidka_hur_demo", INTEL_ID, 2, 0),  # from left_chats: a channel we left still counts
    ]
    assert [(p.channel, p.message_id) for p in result.posts] == [
        ("genstaff_zvedennia", 2),
        ("genstaff_zvedennia", 3),
        ("genstaff_zvedennia", 4),
        ("rozvidka_hur_demo", 77),
        ("rozvidka_hur_demo", 78),
    ]
    posts = {(p.channel, p.message_id): p for p in result.posts}
    assert posts["genstaff_zvedennia", 3].media == "photo"  # photo "not included" is still a photo
    assert posts["genstaff_zvedennia", 4].text == "Увага! Загроза балістики для східних областей."
    assert posts["genstaff_zvedennia", 4].edit_date is not None
    assert posts["rozvidka_hur_demo", 77].media == "video"
    assert posts["rozvidka_hur_demo", 77].channel_title == "Розвідка: повідомлення (демо)"
    assert sorted((s.name, s.reason) for s in result.skipped) == [
        ("Марко", "not a channel (personal_chat)"),
        ("Редакція: чергові", "not a channel (private_supergroup)"),
    ]


def test_account_export_with_an_unknown_channel_skips_it() -> None:
    result = load_export(ACCOUNT, known={GENSTAFF_ID: "genstaff_zvedennia"})
    assert {p.channel for p in result.posts} == {"genstaff_zvedennia"}
    unknown = [s for s in result.skipped if s.id == INTEL_ID]
    assert len(unknown) == 1 and "username unknown" in unknown[0].reason


def test_source_names_a_whole_account_export_only_when_it_has_one_channel(
    tmp_path: Path,
) -> None:
    with pytest.raises(SourceError, match="has 2 channels"):
        load_export(ACCOUNT, source="@genstaff_zvedennia")
    doc = json.loads(ACCOUNT.read_text(encoding="utf-8"))
    doc["left_chats"]["list"] = []
    result = load_export(_write(tmp_path, doc), source="@genstaff_zvedennia")
    assert [c.username for c in result.channels] == ["genstaff_zvedennia"]
    assert len(result.posts) == 3


# ----------------------------------------------------------------------------- broken files


def test_truncated_export_says_it_ends_early() -> None:
    with pytest.raises(SourceError) as err:
        load_export(DATA / "broken" / "truncated.json", source="taras_verbytskyi")
    text = str(err.value)
    assert text.startswith(str(DATA / "broken" / "truncated.json") + ": not valid JSON at line ")
    assert "ends early" in text


def test_bad_date_names_the_message() -> None:
    with pytest.raises(SourceError) as err:
        load_export(DATA / "broken" / "bad_date.json", source="taras_verbytskyi")
    assert str(err.value).endswith("message #7 (id 7): 'date' is not a date: \"вчора ввечері\"")


def test_bad_text_names_the_message() -> None:
    with pytest.raises(SourceError, match=r"message #4 \(id 4\): 'text' is neither a string"):
        load_export(DATA / "broken" / "bad_text.json", source="taras_verbytskyi")


@pytest.mark.parametrize(
    ("index", "change", "expected"),
    [
        (4, {"id": "5"}, r"message #5: 'id' is not an integer: \"5\""),
        (4, {"id": 0}, r"message #5 \(id 0\): 'id' must be positive, got 0"),
        (4, {"type": None}, r"message #5 \(id 5\): 'type' is not a string"),
        (4, {"date_unixtime": "soon"}, r"'date_unixtime' is not a number of seconds"),
        (4, {"date": 20251117}, r"message #5 \(id 5\): 'date' is not a date: 20251117"),
        (3, {"edited": "2025-13-45T00:00:00"}, r"message #4 \(id 4\): 'edited' is not a date"),
        (4, {"text": {"type": "bold"}}, r"'text' is neither a string nor a list"),
        (4, {"text": ["a", 7]}, r"'text' part #2 is neither text nor an entity: 7"),
        (4, {"text": [{"type": "bold"}]}, r"'text' part #1 has no text"),
        (4, {"text": [{"type": "text_link", "text": "x"}]}, r"text_link without an 'href'"),
        (4, {"text_entities": "plain"}, r"'text_entities' is not a list"),
        (4, {"photo": True}, r"'photo' is not a string"),
        (4, {"forwarded_from": 12}, r"'forwarded_from' is not a string"),
        (4, {"reply_to_message_id": "3"}, r"'reply_to_message_id' is not an integer"),
        # Past SQLite's 64-bit integers: refused up front, not at the database halfway through.
        (4, {"id": 2**64}, r"message #5: 'id' is not an integer: 18446744073709551616"),
        (4, {"reply_to_message_id": 2**63}, r"'reply_to_message_id' is not an integer"),
    ],
)
def test_ill_typed_message_fields(
    tmp_path: Path, index: int, change: dict[str, Any], expected: str
) -> None:
    doc = _channel_doc()
    doc["messages"][index].update(change)
    with pytest.raises(SourceError, match=expected):
        load_export(_write(tmp_path, doc), source="taras_verbytskyi")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"text": "Енергосистема \ud83d тримається."}, r"'text' is not valid Unicode: .*\\ud83d"),
        (
            {"text": [{"type": "text_link", "text": "x", "href": "https://example.org/\udc00"}]},
            r"'text_link href' is not valid Unicode",
        ),
        ({"forwarded_from": "Штаб \ud83d"}, r"'forwarded_from' is not valid Unicode"),
    ],
)
def test_half_an_emoji_is_refused_up_front(
    tmp_path: Path, change: dict[str, Any], expected: str
) -> None:
    # Half a surrogate pair, escaped in the JSON: the import stored the messages before it,
    # then died with a traceback at the database.
    doc = _channel_doc()
    doc["messages"][4].update(change)
    path = tmp_path / "result.json"
    path.write_text(json.dumps(doc), encoding="utf-8")  # ASCII escapes, as a file would hold it
    with pytest.raises(SourceError, match=r"message #5 \(id 5\): " + expected):
        load_export(path, source="taras_verbytskyi")


def test_missing_date_and_non_object_message(tmp_path: Path) -> None:
    doc = _channel_doc()
    del doc["messages"][1]["date"], doc["messages"][1]["date_unixtime"]
    with pytest.raises(SourceError, match=r"message #2 \(id 2\): 'date' is missing"):
        load_export(_write(tmp_path, doc), source="taras_verbytskyi")
    doc = _channel_doc()
    doc["messages"][1] = "hello"
    with pytest.raises(SourceError, match=r"message #2: not a JSON object"):
        load_export(_write(tmp_path, doc), source="taras_verbytskyi")


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ([], "the top level is not a JSON object"),
        ({"about": "x"}, "not a Telegram Desktop JSON export"),
        (
            {"name": "x", "type": "public_channel", "id": 5, "messages": {}},
            "'messages' is not a list",
        ),
        (
            {"name": "x", "type": "public_channel", "id": "5", "messages": []},
            "chat 'id' is not an integer",
        ),
        ({"name": "x", "type": 3, "id": 5, "messages": []}, "chat 'type' is not a string"),
        ({"chats": []}, "'chats' is not an object with a 'list'"),
        ({"chats": {"list": [1]}}, "chats #1: the chat is not a JSON object"),
        (
            {"chats": {"list": [{"name": "a", "type": "public_channel", "id": True}]}},
            "chats #1: chat 'id' is not an integer",
        ),
    ],
)
def test_ill_typed_structure(tmp_path: Path, doc: Any, expected: str) -> None:
    with pytest.raises(SourceError, match=expected):
        load_export(_write(tmp_path, doc))


def test_account_export_error_names_the_chat(tmp_path: Path) -> None:
    doc = json.loads(ACCOUNT.read_text(encoding="utf-8"))
    doc["chats"]["list"][1]["messages"][2]["date_unixtime"] = "12:00"
    with pytest.raises(SourceError) as err:
        load_export(_write(tmp_path, doc), known={GENSTAFF_ID: "genstaff_zvedennia"})
    assert "chats #2 ('Генштаб: зведення (демо)', id 1654098731): message #3 (id 3)" in str(
        err.value
    )


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        load_export(tmp_path / "absent.json")
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    with pytest.raises(SourceError, match="ends early"):
        load_export(empty)
    latin = tmp_path / "latin1.json"
    latin.write_bytes('{"name": "Канал"}'.encode("cp1251"))
    with pytest.raises(SourceError, match="not UTF-8"):
        load_export(latin)


def test_byte_order_mark_is_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_bytes(b"\xef\xbb\xbf" + CHANNEL.read_bytes())
    assert len(load_export(path, source="taras_verbytskyi").posts) == 15


# ----------------------------------------------------------------------------- generator


def test_generated_export_loads_exactly(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    generate_export(path, 3000, channel_id=1700000042, name="Синтетика", seed=7)
    result = load_export(path, source="@synthetic_demo")
    posts = result.posts
    assert len(posts) == 3000
    ids = [p.message_id for p in posts]
    assert ids == sorted(ids) and len(set(ids)) == 3000
    assert all(a.date <= b.date for a, b in itertools.pairwise(posts))
    edited = sum(p.edit_date is not None for p in posts)
    photos = sum(p.media == "photo" for p in posts)
    linked = sum(bool(p.links) for p in posts)
    assert 60 < edited < 300 and 300 < photos < 600 and 150 < linked < 450
    assert len({p.text for p in posts}) > 2500  # varied, not one sentence repeated
    assert result.channels[0].service_messages > 0

    again = tmp_path / "again.json"
    generate_export(again, 3000, channel_id=1700000042, name="Синтетика", seed=7)
    assert again.read_bytes() == path.read_bytes()
