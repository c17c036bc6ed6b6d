"""Why a translation is missing, in the reader's language: the real pipeline and worker against
a local HTTP provider. Texts written for these tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.delivery.translation import LibreTranslate, TranslationWorker
from bot.i18n import translator
from bot.ingest.pipeline import Pipeline
from bot.matching import parse_rule, rule_to_json
from storage.records import Post
from storage.store import Store
from tests.delivery.test_translation import provider_server

ENGLISH_POST = "The prisoner exchange must take place before the end of the month."


@pytest.mark.parametrize("lang", ["uk", "ru"])
async def test_a_missing_translation_says_why_in_the_readers_language(
    tmp_path: Path, lang: str
) -> None:
    store = await Store.open(tmp_path / "t.db")
    try:
        await store.sources.upsert("haiova_demo", attribution={"person_uk": "Олена Гайова"})
        reader = await store.people.add(role="journalist", user_id=31, lang=lang)
        await store.rules.add("prisoner", rule_to_json(parse_rule("prisoner")))
        pipe = Pipeline(store, translate=True)
        when = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
        tr = translator(lang)
        async with provider_server() as server:
            worker = TranslationWorker(store, LibreTranslate(server.url), timeout=0.3)
            cases = [
                (
                    "slow",
                    tr.gettext(
                        "{provider}: no answer in {seconds} s",
                        provider="LibreTranslate",
                        seconds="0.3",
                    ),
                ),
                (
                    "html",
                    tr.gettext("{provider}: the answer is not JSON", provider="LibreTranslate"),
                ),
                ("429", "LibreTranslate: HTTP 429"),
            ]
            for n, (mode, why) in enumerate(cases):
                server.mode = mode
                await pipe.handle(Post("haiova_demo", 10 + n, when, f"{ENGLISH_POST} {n}"))
                assert await worker.drain_once() == 1
                reply = (await store.alerts.for_person(reader.id))[-1]
                assert reply.kind == "translation"
                # It read "(LibreTranslate: no answer in 0.3 s)" in every language.
                assert reply.payload["plain"] == tr.gettext(
                    "Translation unavailable ({why}); the quote is in the original language",
                    why=why,
                )
            server.release.set()
    finally:
        await store.close()
