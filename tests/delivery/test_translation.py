"""Translation providers through their real client code against local servers speaking their
protocols (LibreTranslate's /translate, DeepL's /v2/translate via the `deepl` library, Telegram's
messages.translateText as Telethon TL objects), and the worker that keeps them off the alert's
path: a slow or failing provider delays nothing and loses nothing. Texts written for the tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from telethon import errors

from bot.delivery.translation import DeepL, LibreTranslate, TranslationWorker
from bot.ingest.pipeline import Pipeline
from bot.matching import parse_rule, rule_to_json
from sources.telegram.translate import TelegramTranslator
from sources.translation import TranslationError
from storage.records import Post
from storage.store import Store
from tests.telethon_seam import FakeTelegram, SeamClient

QUOTE = "Обмін полоненими має відбутися до кінця місяця."
ENGLISH = "The prisoner exchange must take place before the end of the month."


class Provider:
    """A local HTTP server playing a translation API; `mode` is what it does next."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.requests: list[dict[str, Any]] = []
        self.url = ""
        self.release = asyncio.Event()  # ends a "slow" answer when the server closes

    async def libre(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append({"path": request.path, **body})
        return await self._answer({"translatedText": ENGLISH})

    async def deepl(self, request: web.Request) -> web.Response:
        if request.content_type == "application/json":
            body = await request.json()
        else:
            body = dict(await request.post())
        self.requests.append(
            {"path": request.path, "auth": request.headers.get("Authorization"), **body}
        )
        return await self._answer(
            {
                "translations": [
                    {
                        "detected_source_language": "UK",
                        "text": ENGLISH,
                        # The API answers with it when asked (the library always asks).
                        "billed_characters": len(QUOTE),
                    }
                ]
            }
        )

    async def _answer(self, ok: dict[str, Any]) -> web.Response:
        if self.mode == "slow":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.release.wait(), 30)
        if self.mode == "429":
            return web.json_response({"message": "Too many requests"}, status=429)
        if self.mode == "500":
            return web.json_response({"error": "internal"}, status=500)
        if self.mode == "html":
            # A proxy's or portal's page in front of the provider: 200, but no JSON.
            return web.Response(text="<html><body>Sign in</body></html>", content_type="text/html")
        return web.json_response(ok)


@asynccontextmanager
async def provider_server() -> AsyncIterator[Provider]:
    provider = Provider()
    app = web.Application()
    app.router.add_post("/translate", provider.libre)
    app.router.add_post("/v2/translate", provider.deepl)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    provider.url = f"http://127.0.0.1:{port}"
    try:
        yield provider
    finally:
        provider.release.set()
        await runner.cleanup()


async def test_libretranslate_speaks_its_protocol_and_reports_failures() -> None:
    async with provider_server() as server:
        libre = LibreTranslate(server.url, api_key="k1")
        assert await libre.translate(QUOTE, source="uk", target="en") == ENGLISH
        assert server.requests[-1] == {
            "path": "/translate",
            "q": QUOTE,
            "source": "uk",
            "target": "en",
            "format": "text",
            "api_key": "k1",
        }
        for mode, message in (("429", "HTTP 429"), ("500", "HTTP 500")):
            server.mode = mode
            with pytest.raises(TranslationError, match=f"LibreTranslate: {message}"):
                await libre.translate(QUOTE, source="uk", target="en")
    with pytest.raises(TranslationError, match="LibreTranslate: Client"):
        await LibreTranslate(server.url).translate(QUOTE, source=None, target="en")


async def test_deepl_through_its_client_library() -> None:
    async with provider_server() as server:
        client = DeepL("test-key:fx", server_url=server.url)
        assert await client.translate(QUOTE, source="uk", target="en") == ENGLISH
        sent = server.requests[-1]
        assert sent["path"] == "/v2/translate"
        assert sent["auth"] == "DeepL-Auth-Key test-key:fx"
        assert sent["target_lang"] == "EN-GB" and sent["source_lang"] == "UK"
        assert QUOTE in (sent["text"] if isinstance(sent["text"], list) else [sent["text"]])
        server.mode = "429"
        started = time.monotonic()
        with pytest.raises(TranslationError, match="DeepL: HTTP 429"):
            await client.translate(QUOTE, source="uk", target="ru")
        # One try: the library's own backoff would hold the worker for minutes.
        assert len([r for r in server.requests if r.get("target_lang") == "RU"]) == 1
        assert time.monotonic() - started < 30


async def test_telegram_translate_text_through_telethon() -> None:
    fake = FakeTelegram()
    fake.translations[(QUOTE, "en")] = ENGLISH
    client = SeamClient(fake)
    await client.connect()
    translator = TelegramTranslator(client)
    assert await translator.translate(QUOTE, source="uk", target="en") == ENGLISH
    (request,) = [r for r in fake.requests if type(r).__name__ == "TranslateTextRequest"]
    assert request.to_lang == "en" and request.text[0].text == QUOTE
    fake.failures.append(lambda r: errors.FloodWaitError(request=r, capture=42))
    with pytest.raises(TranslationError, match="Telegram: flood wait 42 s"):
        await translator.translate(QUOTE, source="uk", target="en")
    await client.disconnect()
    with pytest.raises(TranslationError, match="Telegram: not connected"):
        await translator.translate(QUOTE, source="uk", target="en")


async def _desk(tmp_path: Path) -> tuple[Store, int, int]:
    store = await Store.open(tmp_path / "t.db")
    await store.sources.upsert(
        "haiova_demo", attribution={"person_en": "Olena Haiova", "role_en": "NSDC Secretary"}
    )
    en = await store.people.add(role="journalist", user_id=21, lang="en")
    uk = await store.people.add(role="journalist", user_id=22, lang="uk")
    await store.rules.add("полонений", rule_to_json(parse_rule("полонений")))
    return store, en.id, uk.id


async def test_a_slow_or_failing_provider_delays_nothing_and_loses_nothing(
    tmp_path: Path,
) -> None:
    store, en_id, uk_id = await _desk(tmp_path)
    try:
        async with provider_server() as server:
            server.mode = "slow"
            pipe = Pipeline(store, translate=True)
            started = time.monotonic()
            when = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
            await pipe.handle(Post("haiova_demo", 1, when, QUOTE))
            # The alert is in the outbox at once, whatever the provider does.
            assert time.monotonic() - started < 5
            (alert,) = await store.alerts.for_person(en_id)
            assert alert.status == "pending" and alert.payload["translate"]["target"] == "en"
            assert (
                "A machine translation of the quote follows"
                in alert.payload["messages"][-1]["html"]
            )
            assert alert.payload["plain"].startswith("Olena Haiova, NSDC Secretary, said on")
            # The Ukrainian reader of a Ukrainian post is not offered a translation.
            (uk_alert,) = await store.alerts.for_person(uk_id)
            assert "translate" not in uk_alert.payload

            worker = TranslationWorker(store, LibreTranslate(server.url), timeout=0.3)
            assert await worker.drain_once() == 1
            _, reply = await store.alerts.for_person(en_id)
            assert reply.kind == "translation" and reply.reply_to_alert == alert.id
            assert reply.payload["plain"] == (
                "Translation unavailable (LibreTranslate: no answer in 0.3 s); "
                "the quote is in the original language"
            )
            assert await worker.drain_once() == 0  # answered once, not again

            server.mode = "429"
            await pipe.handle(Post("haiova_demo", 2, when, QUOTE + " Ще одне речення."))
            await worker.drain_once()
            failed = (await store.alerts.for_person(en_id))[-1]
            assert "LibreTranslate: HTTP 429" in failed.payload["plain"]

            server.mode = "ok"
            await pipe.handle(Post("haiova_demo", 3, when, "Полонені повернуться додому."))
            assert await worker.drain_once() == 1
            good = (await store.alerts.for_person(en_id))[-1]
            assert good.payload["plain"] == (
                f"Unofficial translation — check before use (LibreTranslate):\n“{ENGLISH}”"
            )
            calls = len(server.requests)
            # Cached per post version: a second reader of English costs no second request.
            late = await store.people.add(role="journalist", user_id=23, lang="en")
            post = await store.posts.get_by_link("haiova_demo", 3)
            assert post is not None
            await store.alerts.enqueue(
                person_id=late.id,
                post_id=post.id,
                kind="new",
                version=post.version,
                payload=(await store.alerts.for_person(en_id))[-2].payload,
            )
            assert await worker.drain_once() == 1
            assert len(server.requests) == calls
            assert ENGLISH in (await store.alerts.for_person(late.id))[-1].payload["plain"]
    finally:
        await store.close()


async def test_wirewatch_draft_translates_through_the_configured_provider() -> None:
    from bot.cli.draft import _translate
    from bot.settings import Settings, TranslationSettings

    async with provider_server() as server:
        settings = Settings(
            translation=TranslationSettings(
                provider="libretranslate", libretranslate_url=server.url
            )
        )
        got = await _translate(settings, QUOTE, QUOTE, "en")
        assert got is not None and ENGLISH in got["plain"]
        assert await _translate(settings, QUOTE, QUOTE, "uk") is None  # same language
        server.mode = "500"
        got = await _translate(settings, QUOTE, QUOTE, "en")
        assert got is not None and "LibreTranslate: HTTP 500" in got["plain"]


# Python refuses to import a module whose sys.modules entry is None: the package is missing.
_WITHOUT_DEEPL = "import sys; sys.modules['deepl'] = None\n"


def _python(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
    env["WIREWATCH_DB"] = str(tmp_path / "w.db")
    return subprocess.run(
        [sys.executable, "-c", _WITHOUT_DEEPL + code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )


def test_the_cli_works_without_an_unconfigured_provider_installed(tmp_path: Path) -> None:
    """An install that predates DeepL support lacks the package: `wirewatch --help`, `draft`
    and the rest must not need it until someone configures DeepL."""
    done = _python(
        "from bot.cli.main import main\n"
        "import bot.cli.draft, bot.delivery.translation\n"
        "try:\n    main(['--help'])\nexcept SystemExit as e:\n    sys.exit(e.code)\n",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "wirewatch" in done.stdout


def test_deepl_configured_without_its_package_says_so(tmp_path: Path) -> None:
    code = (
        "import asyncio\n"
        "from bot.cli.draft import _translate\n"
        "from bot.delivery.translation import make_worker\n"
        "from bot.settings import Settings, TranslationSettings\n"
        "cfg = TranslationSettings(provider='deepl', deepl_key='k:fx')\n"
        "got = asyncio.run(_translate(Settings(translation=cfg), 'Обмін полоненими.', "
        "'Обмін полоненими.', 'en'))\n"
        "print(got['plain'])\n"
        "print(make_worker(cfg, None)[1])\n"  # type: ignore[arg-type]
    )
    done = _python(code, tmp_path)
    assert done.returncode == 0, done.stderr
    said = done.stdout.strip().splitlines()
    assert any("deepl" in line and "not installed" in line for line in said), done.stdout
    assert "not installed" in said[-1] and "translations are off" in said[-1]
