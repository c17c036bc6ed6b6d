"""Machine translation of quotes, off the alert's path.

An alert whose quote is in another language than its reader's is enqueued at once, marked
"translate" (bot.drafting.alert). `TranslationWorker` then asks the configured provider, bounded
by a timeout, caches the answer per post version, and enqueues a reply to the alert: the
translation labelled unofficial, or why there is none ("DeepL: HTTP 429"). A slow, failing or
missing provider therefore never delays an alert nor loses one.

Providers: Telegram's own translateText through the listener's account
(`sources.telegram.translate`), DeepL through its `deepl` client library, and a self-hosted
LibreTranslate server over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import aiohttp

from bot.desk.quiet import in_quiet_hours
from bot.drafting.alert import translation_payload
from bot.i18n import N_, Message
from bot.settings import TranslationSettings
from sources.translation import TranslationError, Translator
from storage.db import now
from storage.models import Alert
from storage.store import Store

log = logging.getLogger(__name__)

# DeepL names English by variety; the others by language.
_DEEPL_TARGET = {"uk": "UK", "ru": "RU"}


class LibreTranslate:
    """A LibreTranslate server's POST /translate (JSON: q, source, target, format, api_key)."""

    name = "LibreTranslate"

    def __init__(self, url: str, api_key: str | None = None) -> None:
        self.url = url.rstrip("/") + "/translate"
        self.api_key = api_key

    async def translate(self, text: str, *, source: str | None, target: str) -> str:
        body: dict[str, Any] = {
            "q": text,
            "source": source or "auto",
            "target": target,
            "format": "text",
        }
        if self.api_key:
            body["api_key"] = self.api_key
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.post(self.url, json=body) as resp,
            ):
                if resp.status != 200:
                    raise TranslationError(
                        "{provider}: HTTP {status}", provider=self.name, status=resp.status
                    )
                data = await resp.json(content_type=None)
        except aiohttp.ClientError as exc:
            raise TranslationError(
                "{provider}: {error}", provider=self.name, error=type(exc).__name__
            ) from exc
        except ValueError as exc:  # 200 but no JSON: a proxy's or a portal's page
            raise TranslationError(
                "{provider}: the answer is not JSON", provider=self.name
            ) from exc
        translated = data.get("translatedText") if isinstance(data, dict) else None
        if not isinstance(translated, str) or not translated.strip():
            raise TranslationError(
                "{provider}: no translatedText in the answer", provider=self.name
            )
        return translated


class DeepL:
    """DeepL's API through its own client library (blocking: run in a thread)."""

    name = "DeepL"

    def __init__(self, auth_key: str, *, server_url: str | None = None, english: str = "EN-GB"):
        # Imported here, not at the top: every command imports this module, and an install
        # made before DeepL support (or one that never uses it) need not have the package.
        try:
            import deepl
        except ImportError as exc:
            raise TranslationError(
                "DeepL is configured but its client library (the Python package deepl) is "
                "not installed: run `make install`, or pick another "
                "WIREWATCH_TRANSLATION__PROVIDER"
            ) from exc
        self._error: type[Exception] = deepl.DeepLException
        # The library retries 429 and 5xx itself with growing pauses; the worker has its own
        # timeout and the alert is already out, so one try is the right number.
        deepl.http_client.max_network_retries = 0
        self.client = deepl.Translator(auth_key, server_url=server_url, send_platform_info=False)
        self.english = english

    async def translate(self, text: str, *, source: str | None, target: str) -> str:
        target_lang = self.english if target == "en" else _DEEPL_TARGET.get(target, target.upper())
        source_lang = source.upper() if source else None

        def call() -> str:
            result = self.client.translate_text(
                text, source_lang=source_lang, target_lang=target_lang
            )
            return str(result.text)  # type: ignore[union-attr]

        try:
            return await asyncio.to_thread(call)
        except self._error as exc:
            status = getattr(exc, "http_status_code", None)
            if status:
                raise TranslationError(
                    "{provider}: HTTP {status}", provider=self.name, status=status
                ) from exc
            raise TranslationError(
                "{provider}: {error}", provider=self.name, error=type(exc).__name__
            ) from exc


def http_translator(
    provider: str,
    *,
    deepl_key: str | None = None,
    deepl_url: str | None = None,
    deepl_english: str = "EN-GB",
    libretranslate_url: str = "http://127.0.0.1:5000",
    libretranslate_key: str | None = None,
) -> Translator | None:
    """DeepL or LibreTranslate as configured; None for "off", "telegram" (that one needs the
    listener's account) or DeepL without a key. Raises TranslationError when the configured
    provider's package is missing."""
    if provider == "deepl":
        if not deepl_key:
            return None
        return DeepL(deepl_key, server_url=deepl_url or None, english=deepl_english)
    if provider == "libretranslate":
        return LibreTranslate(libretranslate_url, libretranslate_key)
    return None


class TranslationWorker:
    """Translates what new alerts ask for and enqueues the replies; see the module doc.

    A translation is owed until its reply is queued, however long the worker was stopped
    (the service down overnight, a backlog behind a translator that times out), as long as
    the alert is younger than `max_age` seconds (`WIREWATCH_TRANSLATION__MAX_AGE`). An older
    one is given up: a log line and a reply recorded 'failed' with the reason, never sent.
    Where the last complete look left off is kept in the store (`FLOOR_KEY`): each look reads
    only the alerts queued since, and one that aged past the bound while no worker ran is
    given up out loud rather than forgotten."""

    FLOOR_KEY = "translation.floor"
    FLOOR_STEP = 60  # seconds the floor moves before it is written again
    SETTLE = 300  # seconds behind now the floor stays

    def __init__(
        self,
        store: Store,
        translator: Translator,
        *,
        timeout: float = 10.0,
        on_enqueue: Callable[[], None] | None = None,
        max_age: int = 86400,
        poll: float = 5.0,
        batch: int = 50,
        clock: Callable[[], int] = now,
    ) -> None:
        self.store = store
        self.translator = translator
        self.timeout = timeout
        self.on_enqueue = on_enqueue
        self.max_age = max_age
        self.poll = poll
        self.batch = batch
        self.clock = clock  # unix seconds; tests move it
        self.given_up = 0
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.drain_once()
            except Exception:  # a bad row must not end translations for everyone
                log.exception("translation round failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                waiters = [asyncio.ensure_future(self._wake.wait())]
                waiters.append(asyncio.ensure_future(stop.wait()))
                try:
                    await asyncio.wait(waiters, timeout=self.poll, return_when="FIRST_COMPLETED")
                finally:
                    for w in waiters:
                        w.cancel()

    async def drain_once(self) -> int:
        """Answer every alert waiting for a translation (up to `batch`), give up on those
        older than `max_age`; the number of replies enqueued."""
        at = self.clock()
        oldest = at - self.max_age
        stored = await self.store.state.get(self.FLOOR_KEY)
        # Where the last complete look left off; on the very first start, the bound. Never
        # past SETTLE before this clock: a floor kept by a clock running ahead (another
        # machine's, or this one's before it was set back) would hide alerts stamped now.
        floor = oldest if stored is None else min(int(stored[0]), at - self.SETTLE)
        owed = await self.store.alerts.awaiting_translation(floor, limit=self.batch)
        done = 0
        for alert in owed:
            if alert.created_at < oldest:
                why = f"the alert is older than {self.max_age / 3600:g} h"
                await self._give_up(alert, why, aged=True)
            elif await self._answer(alert):
                done += 1
        if len(owed) < self.batch:
            # Everything owed from `floor` on is settled. The next look starts a little
            # before now (another process may still be committing an alert it stamped
            # earlier), or at the oldest alert whose draft, and so whether it asks for a
            # translation, is not written yet.
            ahead = at - self.SETTLE
            drafting = await self.store.alerts.oldest_drafting_at()
            if drafting is not None:
                ahead = min(ahead, drafting)
            if stored is None or ahead - int(stored[0]) >= self.FLOOR_STEP:
                await self.store.state.set(self.FLOOR_KEY, str(ahead))
        if done and self.on_enqueue is not None:
            self.on_enqueue()
        return done

    async def _give_up(self, alert: Alert, why: str, *, aged: bool = False) -> None:
        want = alert.payload.get("translate") or {}
        target = str(want.get("target") or "") if isinstance(want, dict) else ""
        await self.store.alerts.give_up_translation(
            alert, translation_payload(target, error=why), why
        )
        self.given_up += 1
        bound = f" (WIREWATCH_TRANSLATION__MAX_AGE is {self.max_age} s)" if aged else ""
        log.warning(
            "translation for alert %s (person %s) given up: %s%s; no reply is sent",
            alert.id,
            alert.person_id,
            why,
            bound,
        )

    async def _answer(self, alert: Alert) -> bool:
        want = alert.payload.get("translate") or {}
        text, target = str(want.get("text") or ""), str(want.get("target") or "")
        source = want.get("source")
        person = await self.store.people.get(alert.person_id)
        if person is None or not person.active:
            # Nothing is sent to them (digest.release_quiet settles what they were owed): a
            # provider billing by the character would be paid for a reply nobody reads.
            await self._give_up(alert, "the person was removed from the desk")
            return False
        if not text or alert.post_id is None:
            # Asked for nothing that can be translated: settled, or it would be asked again
            # every round and fill the batch.
            await self._give_up(alert, "the alert names no text to translate")
            return False
        cached = await self.store.translations.get(alert.post_id, alert.version, target, text)
        if cached is not None:
            payload = translation_payload(target, translated=cached[0], provider=cached[1])
        else:
            try:
                translated = await asyncio.wait_for(
                    self.translator.translate(
                        text, source=str(source) if source else None, target=target
                    ),
                    self.timeout,
                )
            except TimeoutError:
                why = Message(
                    N_("{provider}: no answer in {seconds} s"),
                    {"provider": self.translator.name, "seconds": f"{self.timeout:g}"},
                )
                payload = translation_payload(target, error=why)
            except TranslationError as exc:
                # Why, in the reader's language: the provider raised it with a msgid.
                payload = translation_payload(target, error=exc)
            except Exception as exc:
                # Answered as a failure like any other: raised out of the round, the oldest
                # owed alert would end every round and hold up all translations behind it
                # until it aged past max_age.
                log.exception("translation for alert %s failed", alert.id)
                payload = translation_payload(
                    target,
                    error=Message(
                        N_("{provider}: {error}"),
                        {"provider": self.translator.name, "error": type(exc).__name__},
                    ),
                )
            else:
                await self.store.translations.put(
                    alert.post_id, alert.version, target, text, self.translator.name, translated
                )
                payload = translation_payload(
                    target, translated=translated, provider=self.translator.name
                )
        # Parked with its alert: sent on its own, a reply to an alert held for the night
        # woke the reader with a translation of something they had not been sent.
        held = (
            not person.reachable
            or alert.status == "held"
            or in_quiet_hours(person, datetime.now(UTC))
        )
        alert_id = await self.store.alerts.enqueue(
            person_id=alert.person_id,
            post_id=alert.post_id,
            kind="translation",
            version=alert.version,
            payload=payload,
            rule_id=alert.rule_id,
            reply_to_alert=alert.id,
            held=held,
        )
        return alert_id is not None


def make_worker(
    cfg: TranslationSettings,
    store: Store,
    *,
    telegram: Translator | None = None,
    on_enqueue: Callable[[], None] | None = None,
) -> tuple[TranslationWorker | None, str | None]:
    """The worker for the configured provider, or None and why it cannot run ("off" is no
    problem). `telegram` is the listener account's translator when there is a listener."""
    if cfg.provider == "off":
        return None, None
    translator: Translator | None
    if cfg.provider == "telegram":
        translator = telegram
        problem = "translation via Telegram needs the listener; translations are off"
    else:
        try:
            translator = configured_translator(cfg)
        except TranslationError as exc:
            return None, f"translation: {exc}; translations are off"
        problem = "translation: DeepL needs WIREWATCH_TRANSLATION__DEEPL_KEY; translations are off"
    if translator is None:
        return None, problem
    worker = TranslationWorker(
        store, translator, timeout=cfg.timeout, on_enqueue=on_enqueue, max_age=cfg.max_age
    )
    return worker, None


def listeners_translate(cfg: TranslationSettings) -> bool:
    """Whether a listener process with these settings runs a worker (`start_translations`):
    what a notifier process's drafter must know, since the drafts it writes for the listeners
    ask for their translations as the listeners' own drafts do."""
    if cfg.provider == "telegram":
        return True
    try:
        return configured_translator(cfg) is not None
    except TranslationError:
        return False


def configured_translator(cfg: TranslationSettings) -> Translator | None:
    """DeepL or LibreTranslate from the settings (None for off, telegram, or no DeepL key)."""
    return http_translator(
        cfg.provider,
        deepl_key=cfg.deepl_key.get_secret_value() if cfg.deepl_key else None,
        deepl_url=cfg.deepl_url,
        deepl_english=cfg.deepl_english,
        libretranslate_url=cfg.libretranslate_url,
        libretranslate_key=(
            cfg.libretranslate_key.get_secret_value() if cfg.libretranslate_key else None
        ),
    )


class _Host(Protocol):
    """What the service gives the translation worker (bot.service.app.App has it)."""

    store: Store | None
    listener: Any
    pipeline: Any
    degraded: list[str]

    @property
    def stop_event(self) -> asyncio.Event: ...

    def _spawn(self, name: str, run: Callable[[], Awaitable[Any]]) -> None: ...
    def _on_enqueue(self) -> None: ...


def start_translations(host: _Host, cfg: TranslationSettings) -> TranslationWorker | None:
    """Build the configured provider's worker, mark the pipeline's drafts for it and start it;
    None (and a 'degraded' note when it was asked for) when it cannot run."""
    telegram: Translator | None = None
    if cfg.provider == "telegram" and host.listener is not None:
        from sources.telegram.translate import TelegramTranslator

        telegram = TelegramTranslator(host.listener.client)
    if host.store is None:
        return None
    # Its replies wake the notifier (and the worker itself, which then finds nothing to do).
    worker, problem = make_worker(cfg, host.store, telegram=telegram, on_enqueue=host._on_enqueue)
    if problem is not None:
        host.degraded.append(problem)
    if worker is not None:
        host.pipeline.translate = True
        host._spawn("translations", lambda: worker.run(host.stop_event))
    return worker
