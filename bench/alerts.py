"""Benchmark: from a post handed to the pipeline to the alert arriving at the Bot API.

    .venv/bin/python bench/alerts.py                 # 20 posts/s for 15 s, 50 journalists
    .venv/bin/python bench/alerts.py --seconds 60 --rate 20
    .venv/bin/python bench/alerts.py --quick         # 10 s (what `make bench` runs)

What runs is the production path in one process, as `wirewatch run` wires it: Pipeline.handle
(store, lemmatise, match, compose, enqueue in one transaction) wakes the Notifier, which sends
through aiogram over real HTTP to the fake Bot API server on 127.0.0.1. Latency is measured from
just before `pipeline.handle(post)` to the moment the server receives that alert's sendMessage
(both on time.monotonic() in this process).

Load: 50 journalists, each with a personal rule on their own topic word; each post mentions one
topic drawn at random, so every post alerts one journalist (~20 alerts/s, under Telegram's ~30/s
bot limit). The notifier keeps Telegram's pacing (settings defaults: 25 messages/s overall, one
per second per chat), so two posts for the same journalist within a second show up in the tail.

Baseline, measured in the same run against the same server: a bare aiogram `send_message`, from
the call to the server receiving it.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.fakebot

from bench.common import table_row
from bot.delivery.notifier import Notifier
from bot.ingest.drafter import Drafter
from bot.ingest.pipeline import Pipeline
from bot.matching import parse_rule, rule_to_json
from bot.settings import BotSettings
from storage.records import Post
from storage.store import Store
from tests.fakebot import FakeBotAPI

CHANNEL = "bench_ministry"
# Sentences written for this benchmark; {topic} is the journalist's rule word.
TEMPLATES = [
    "Міністр провів нараду щодо {topic} і доручив підготувати пропозиції до п'ятниці.",
    "Уряд погодив план дій щодо {topic}, документ оприлюднять найближчим часом.",
    "Під час зустрічі з партнерами обговорили {topic} та наступні кроки співпраці.",
    "Відомство повідомило про нові рішення щодо {topic} для громад прикордонних областей.",
]


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def describe(name: str, ms: Sequence[float]) -> str:
    return (
        f"{name}: n={len(ms)} p50={percentile(ms, 0.5):.2f} ms p99={percentile(ms, 0.99):.2f} ms"
        f" mean={statistics.fmean(ms):.2f} ms max={max(ms):.2f} ms"
    )


async def baseline(api: FakeBotAPI, count: int) -> list[float]:
    """A bare aiogram send_message: call -> server receives it (ms)."""
    bot = api.bot()
    out: list[float] = []
    await bot.send_message(1, "розігрів")  # the first call opens the connection
    for i in range(count):
        before = len(api.requests)
        t0 = time.monotonic()
        await bot.send_message(1, f"Базовий замір {i}")
        out.append((api.requests[before].received_at - t0) * 1000)
    return out


@dataclass
class Run:
    latency: list[float]  # ms, post handed over -> sendMessage received
    handle: list[float]  # ms inside pipeline.handle
    after: list[float]  # ms, handle returned -> sendMessage received
    achieved: float
    total: int
    notifier: Notifier


async def pipeline_run(
    api: FakeBotAPI, db: Path, args: argparse.Namespace, *, chat_interval: float
) -> Run:
    rate, seconds, people = args.rate, args.seconds, args.people
    store = await Store.open(db)
    topics = [f"тема{n:02d}" for n in range(people)]
    src = await store.sources.upsert(
        CHANNEL,
        attribution={"person_uk": "Олена Тестова", "role_uk": "міністерка з питань тестів"},
        gender="f",
    )
    for n, topic in enumerate(topics):
        person = await store.people.add(role="journalist", user_id=5000 + n, lang="uk")
        await store.rules.add(topic, rule_to_json(parse_rule(topic)), owner_id=person.id)

    settings = BotSettings(token=api.token, api_url=api.url, chat_interval=chat_interval)
    notifier = Notifier(store, api.bot(), settings)
    # Wired as `wirewatch run` wires them (bot/service/ingest.py): the drafter writes the
    # drafts after each post's commit and wakes the notifier.
    drafter = Drafter(store, on_drafted=notifier.wake)
    pipeline = Pipeline(store, drafter=drafter, defer_drafts=True, on_enqueue=drafter.wake)
    await pipeline.refresh_rules()
    stop = asyncio.Event()
    runner = asyncio.create_task(notifier.run(stop))
    drafting = asyncio.create_task(drafter.serve())

    rng = random.Random(args.seed)
    api.requests.clear()
    total = int(rate * seconds)
    started: dict[int, float] = {}
    returned: dict[int, float] = {}
    start = time.monotonic()
    for i in range(total):
        due = start + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        message_id = 1000 + i
        text = rng.choice(TEMPLATES).format(topic=rng.choice(topics))
        post = Post(CHANNEL, message_id, datetime.now(UTC), text, channel_id=None)
        started[message_id] = time.monotonic()
        result = await pipeline.handle(post)
        returned[message_id] = time.monotonic()
        assert result.alerts == 1, result
    achieved = total / (time.monotonic() - start)

    link = re.compile(rf"t\.me/{CHANNEL}/(\d+)")

    def all_arrived(a: FakeBotAPI) -> bool:
        return len(a.calls("sendMessage", ok=True)) >= total

    await api.wait_for(all_arrived, within=120)
    stop.set()
    await runner
    drafting.cancel()
    run = Run([], [], [], achieved, total, notifier)
    for req in api.calls("sendMessage", ok=True):
        m = link.search(req.params["text"])
        assert m, req.params["text"][:200]
        mid = int(m.group(1))
        run.latency.append((req.received_at - started[mid]) * 1000)
        run.handle.append((returned[mid] - started[mid]) * 1000)
        run.after.append((req.received_at - returned[mid]) * 1000)
    assert src.id
    await store.close()
    return run


async def amain(args: argparse.Namespace) -> int:
    async with FakeBotAPI() as api:
        base = await baseline(api, args.baseline)
        runs: dict[str, Run] = {}
        with tempfile.TemporaryDirectory() as tmp:
            for name, interval in (("telegram pacing", 1.0), ("no per-chat pacing", 0.0)):
                runs[name] = await pipeline_run(
                    api, Path(tmp) / f"bench{interval}.sqlite", args, chat_interval=interval
                )
    print(describe("baseline: bare aiogram send_message -> received", base))
    for name, run in runs.items():
        print(
            f"\n[{name}] {run.total} posts at {run.achieved:.1f} posts/s (target {args.rate:g}),"
            f" {args.people} journalists, one alert per post"
        )
        print(describe("  post -> sendMessage received", run.latency))
        print(describe("  inside pipeline.handle     ", run.handle))
        print(describe("  handle returned -> received", run.after))
        ratio50 = percentile(run.latency, 0.5) / percentile(base, 0.5)
        ratio99 = percentile(run.latency, 0.99) / percentile(base, 0.99)
        print(f"  ratio to baseline: p50 {ratio50:.1f}x, p99 {ratio99:.1f}x")
        if name == "telegram pacing":
            table_row(
                f"alert latency, post to sendMessage received ({run.total} posts, "
                f"{args.rate:g}/s, {args.people} journalists)",
                f"p50 {percentile(run.latency, 0.5):.1f} ms, "
                f"p99 {percentile(run.latency, 0.99):.1f} ms",
                f"bare aiogram send_message: p50 {percentile(base, 0.5):.2f} ms, "
                f"p99 {percentile(base, 0.99):.2f} ms",
                f"{ratio50:.0f}× p50",
                "(no goal in issue 14)",
                None,
            )
        paced = sum(1 for x in run.after if x > 500)
        n = run.notifier
        print(
            f"  waited >500 ms after handle (a chat's 1 s slot was taken): {paced};"
            f" notifier sent={n.sent} failed={n.failed} retried={n.retried}"
            f" throttled={n.throttled}"
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--rate", type=float, default=20.0, help="posts per second")
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--people", type=int, default=50)
    ap.add_argument("--baseline", type=int, default=300, help="bare send_message calls")
    ap.add_argument("--seed", type=int, default=4)
    ap.add_argument("--quick", action="store_true", help="10 s of posts (for `make bench`)")
    args = ap.parse_args(argv)
    if args.quick:
        args.seconds = min(args.seconds, 10.0)
    return asyncio.run(amain(args))


if __name__ == "__main__":
    sys.exit(main())
