"""The fake Bot API server: it must refuse what Telegram refuses, and speak aiogram's protocol."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import CommandStart
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyParameters,
)
from aiogram.types import Message as TgMessage

from tests.fakebot import EntityParseError, FakeBotAPI, fakebot, parse_html

__all__ = ["fakebot"]  # the fixture, imported so pytest finds it in this module

ACCEPTED = [
    ("plain words", "plain words", []),
    ("<b>bold</b> and <strong>strong</strong>", "bold and strong", ["bold", "bold"]),
    (
        "<i>a</i><em>b</em><u>c</u><ins>d</ins>",
        "abcd",
        ["italic", "italic", "underline", "underline"],
    ),
    ("<s>a</s><strike>b</strike><del>c</del>", "abc", ["strikethrough"] * 3),
    ('<span class="tg-spoiler">x</span><tg-spoiler>y</tg-spoiler>', "xy", ["spoiler"] * 2),
    ('<a href="https://t.me/some_channel/12">link</a>', "link", ["text_link"]),
    ("<code>x &lt; y</code>", "x < y", ["code"]),
    ('<pre><code class="language-python">a = 1</code></pre>', "a = 1", ["pre"]),
    ("<pre>x <code>y</code></pre>", "x y", ["pre", "code"]),
    ("<blockquote>Цитата міністра</blockquote>", "Цитата міністра", ["blockquote"]),
    ("<blockquote expandable>довга цитата</blockquote>", "довга цитата", ["blockquote"]),
    ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍", ["custom_emoji"]),
    ("&lt;&gt;&amp;&quot;", '<>&"', []),
    ("&#1043;&#x0456;", "Гі", []),
    ("<b>nested <i>and</i> more</b>", "nested and more", ["bold", "italic"]),
    ("<B>upper</B>", "upper", ["bold"]),
    ("<b>closed by a bare end tag</>", "closed by a bare end tag", ["bold"]),
]

REJECTED = [
    ("a < b", "Unsupported start tag"),
    ("a & b", "must be escaped"),
    ("&nbsp;", "must be escaped"),
    ("<b>unclosed", "Can't find end tag"),
    ("<b>x</i>", "Unmatched end tag"),
    ("<b><i>x</b></i>", "Unmatched end tag"),
    ("x</b>", "Unexpected end tag"),
    ("<div>x</div>", 'Unsupported start tag "div"'),
    ("<br>", 'Unsupported start tag "br"'),
    ('<span class="bold">x</span>', 'must have class "tg-spoiler"'),
    ("<b", "Unclosed start tag"),
    ("<b>x</b", "Unclosed end tag"),
    ("<a href>x</a>", "Expected equal sign"),
    ("&#0;", "Invalid numeric character reference"),
]


@pytest.mark.parametrize(("html", "text", "types"), ACCEPTED)
def test_parse_html_accepts_what_telegram_accepts(html: str, text: str, types: list[str]) -> None:
    plain, entities = parse_html(html)
    assert plain == text
    assert [e["type"] for e in entities] == types


@pytest.mark.parametrize(("html", "reason"), REJECTED)
def test_parse_html_rejects_what_telegram_rejects(html: str, reason: str) -> None:
    with pytest.raises(EntityParseError, match=reason):
        parse_html(html)


def test_entity_offsets_are_utf16_and_errors_name_byte_offsets() -> None:
    _, entities = parse_html("😀 <b>Київ</b>")
    assert entities == [{"type": "bold", "offset": 3, "length": 4}]
    with pytest.raises(EntityParseError, match="byte offset 9"):
        parse_html("Київ <x>")  # 'Київ ' is 9 bytes in UTF-8


async def test_send_message_html_round_trip(fakebot: FakeBotAPI) -> None:
    bot = fakebot.bot()
    sent = await bot.send_message(501, "<b>Заява</b> &amp; коментар", parse_mode="HTML")
    assert sent.message_id == 1
    assert sent.text == "Заява & коментар"
    second = await bot.send_message(501, "друге", reply_parameters=ReplyParameters(message_id=1))
    assert second.message_id == 2
    assert second.reply_to_message is not None and second.reply_to_message.message_id == 1
    other = await bot.send_message(777, "інший чат")
    assert other.message_id == 1  # message ids are counted per chat
    stored = fakebot.sent_messages(501)
    assert [m.message_id for m in stored] == [1, 2]
    assert stored[1].reply_to == 1
    assert stored[0].raw == "<b>Заява</b> &amp; коментар"
    req = fakebot.calls("sendMessage")[0]
    assert req.params["chat_id"] == 501 and req.params["parse_mode"] == "HTML"


async def test_bad_html_is_a_400_with_telegrams_wording(fakebot: FakeBotAPI) -> None:
    bot = fakebot.bot()
    with pytest.raises(TelegramBadRequest, match="can't parse entities: Unsupported start tag"):
        await bot.send_message(5, "ціна < 5 грн", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(5, "<b>без кінця", parse_mode="HTML")
    # Without parse_mode the same characters are plain text.
    await bot.send_message(5, "ціна < 5 грн & більше")
    assert [r.status for r in fakebot.calls("sendMessage")] == [400, 400, 200]
    assert len(fakebot.sent_messages(5)) == 1


async def test_length_is_counted_after_entity_parsing(fakebot: FakeBotAPI) -> None:
    bot = fakebot.bot()
    await bot.send_message(9, "<b>" + "я" * 4096 + "</b>", parse_mode="HTML")
    await bot.send_message(9, "&amp;" * 4096, parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(9, "я" * 4097)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(9, "<b> </b>", parse_mode="HTML")


async def test_callback_data_is_limited_to_64_bytes(fakebot: FakeBotAPI) -> None:
    bot = fakebot.bot()

    def markup(data: str) -> InlineKeyboardMarkup:
        button = InlineKeyboardButton(text="Повністю", callback_data=data)
        return InlineKeyboardMarkup(inline_keyboard=[[button]])

    await bot.send_message(3, "ok", reply_markup=markup("ї" * 32))  # 64 bytes
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(3, "too long", reply_markup=markup("ї" * 32 + "x"))
    assert fakebot.sent_messages(3)[0].reply_markup == {
        "inline_keyboard": [[{"text": "Повністю", "callback_data": "ї" * 32}]]
    }


async def test_error_envelopes_become_aiogram_exceptions(fakebot: FakeBotAPI) -> None:
    bot = fakebot.bot()
    fakebot.flood(7)
    with pytest.raises(TelegramRetryAfter) as flood:
        await bot.send_message(1, "x")
    assert flood.value.retry_after == 7
    fakebot.block(2)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(2, "x")
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(2, "still blocked")
    fakebot.server_error()
    with pytest.raises(TelegramServerError):
        await bot.send_message(1, "x")
    fakebot.drop()
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(1, "x")
    await bot.send_message(1, "the faults were used up")
    assert [m.text for m in fakebot.sent_messages(1)] == ["the faults were used up"]
    assert [r.status for r in fakebot.calls("sendMessage")] == [429, 403, 403, 500, 0, 200]


async def test_unknown_method_and_wrong_token(fakebot: FakeBotAPI) -> None:
    async with aiohttp.ClientSession() as http:
        url = f"{fakebot.url}/bot{fakebot.token}/sendTelepathy"
        async with http.post(url, data={"chat_id": "1"}) as resp:
            assert resp.status == 404
            assert await resp.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found",
            }
    stranger = Bot(
        "654321:XYZ-wrong-token",
        session=AiohttpSession(api=TelegramAPIServer.from_base(fakebot.url)),
    )
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await stranger.get_me()
    finally:
        await stranger.session.close()


async def test_long_polling_waits_for_an_injected_update(fakebot: FakeBotAPI) -> None:
    bot = fakebot.bot()
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await fakebot.wait_for(lambda api: bool(api.calls("getUpdates")))
    assert not poll.done()  # held open: nothing to deliver yet
    await fakebot.inject_message(4242, "/start", username="reporter")
    updates = await asyncio.wait_for(poll, 5)
    assert len(updates) == 1
    msg = updates[0].message
    assert msg is not None and msg.text == "/start" and msg.from_user is not None
    assert msg.from_user.id == 4242 and msg.from_user.username == "reporter"
    # Without an offset the update is delivered again; the offset confirms it.
    again = await bot.get_updates(timeout=0)
    assert [u.update_id for u in again] == [updates[0].update_id]
    assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=0) == []


async def test_dispatcher_polling_and_callbacks(fakebot: FakeBotAPI) -> None:
    bot = fakebot.bot()
    router = Router()

    @router.message(CommandStart())
    async def start(message: TgMessage) -> None:
        button = InlineKeyboardButton(text="Так", callback_data="full:1")
        await message.answer(
            "<b>Вітаю</b>",
            parse_mode="HTML",
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]]),
        )

    @router.callback_query()
    async def pressed(query: CallbackQuery) -> None:
        await query.answer("Гаразд")
        if query.message is not None:
            await bot.edit_message_text(
                text="натиснуто",
                chat_id=query.message.chat.id,
                message_id=query.message.message_id,
            )

    dp = Dispatcher()
    dp.include_router(router)
    polling = asyncio.create_task(
        dp.start_polling(bot, polling_timeout=1, handle_signals=False, close_bot_session=False)
    )
    try:
        await fakebot.inject_message(31, "/start")
        await fakebot.wait_for(lambda api: bool(api.sent_messages(31)))
        reply = fakebot.sent_messages(31)[0]
        assert reply.text == "Вітаю" and reply.entities[0]["type"] == "bold"
        query_id = await fakebot.inject_callback(31, "full:1", message_id=reply.message_id)
        await fakebot.wait_for(lambda api: query_id in api.callback_answers)
        await fakebot.wait_for(lambda api: reply.edits == 1)
        assert fakebot.callback_answers[query_id]["text"] == "Гаразд"
        assert reply.text == "натиснуто"
    finally:
        await dp.stop_polling()
        await asyncio.wait_for(polling, 10)


async def test_document_commands_chat_and_markup(fakebot: FakeBotAPI) -> None:
    bot = fakebot.bot()
    data = "дата,текст\n2024-05-01,заява\n".encode()
    msg = await bot.send_document(
        12,
        BufferedInputFile(data, filename="export.csv"),
        caption="<i>Експорт</i>",
        parse_mode="HTML",
    )
    assert msg.document is not None and msg.document.file_name == "export.csv"
    assert msg.caption == "Експорт"
    assert fakebot.documents[0].data == data
    with pytest.raises(TelegramBadRequest, match="caption is too long"):
        await bot.send_document(12, BufferedInputFile(b"x", "a.txt"), caption="c" * 1025)

    await bot.set_my_commands([BotCommand(command="search", description="Пошук")])
    [command] = await bot.get_my_commands()
    assert (command.command, command.description) == ("search", "Пошук")
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Search Now", description="x")])
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == []

    chat = await bot.get_chat(12)
    assert chat.id == 12 and chat.type == "private"
    assert await bot.delete_webhook() is True
    me = await bot.get_me()
    assert me.id == fakebot.bot_id and me.is_bot

    sent = await bot.send_message(12, "з кнопкою")
    button = InlineKeyboardButton(text="Вимкнути", callback_data="mute:3")
    markup = InlineKeyboardMarkup(inline_keyboard=[[button]])
    await bot.edit_message_reply_markup(
        chat_id=12, message_id=sent.message_id, reply_markup=markup
    )
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(
            chat_id=12, message_id=sent.message_id, reply_markup=markup
        )
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text(text="x", chat_id=12, message_id=999)
    with pytest.raises(TelegramBadRequest, match="query ID is invalid"):
        await bot.answer_callback_query("no-such-query")


async def test_reply_to_missing_message(fakebot: FakeBotAPI) -> None:
    bot = fakebot.bot()
    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await bot.send_message(8, "x", reply_parameters=ReplyParameters(message_id=50))
    msg = await bot.send_message(
        8, "x", reply_parameters=ReplyParameters(message_id=50, allow_sending_without_reply=True)
    )
    assert msg.reply_to_message is None
    req = fakebot.calls("sendMessage", ok=True)[0]
    assert req.params["reply_parameters"]["message_id"] == 50


async def test_a_reply_chain_is_one_level_deep_as_on_telegram(fakebot: FakeBotAPI) -> None:
    # A thread of updates replies to the previous alert each time; Telegram's Message carries
    # the replied-to message without its own reply_to_message, so depth never grows.
    bot = fakebot.bot()
    previous = await bot.send_message(8, "update 0")
    for n in range(1, 300):
        previous = await bot.send_message(
            8, f"update {n}", reply_parameters=ReplyParameters(message_id=previous.message_id)
        )
    assert previous.reply_to_message is not None
    assert previous.reply_to_message.text == "update 298"
    assert previous.reply_to_message.reply_to_message is None
