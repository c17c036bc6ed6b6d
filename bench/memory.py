"""Benchmark: resident memory (RSS) of `wirewatch run` over time, with the 1,000,000-post database
of bench/import_search.py and with an empty database, against an anchor measured in the same
run: a process that only imports what the service imports and loads the dictionaries.

    .venv/bin/python bench/memory.py                       # uses var/bench/search-1000000.db
    .venv/bin/python bench/memory.py --quick               # 100,000-post database, 2,000 posts
    .venv/bin/python bench/memory.py --feed-posts 100000   # the long run of the issue's goal

Each run: `wirewatch run --feed FEED` as a subprocess (no Telegram credentials, so no listener;
the bot on, against the local fake Bot API of tests/fakebot.py: long polling and the notifier
sending the alerts), which ingests a --feed-posts feed through
the pipeline (FTS, rule matching with a desk rule), while this script polls /healthz and
/metrics; then SIGTERM. Peak RSS is the kernel's high-water mark (VmHWM in /proc/PID/status),
read just before the stop. Builds the database first if it is missing (slow: see
import_search.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import table_row  # noqa: E402
from bench.import_search import build_search_db, surnames  # noqa: E402
from bot.matching import parse_rule, rule_to_json  # noqa: E402
from storage.store import Store  # noqa: E402
from tests import gen_export  # noqa: E402
from tests.fakebot import FakeBotAPI  # noqa: E402

# What `wirewatch run` imports with the bot on and no Telegram credentials (no telethon), and the
# three dictionaries loaded: the floor a run with the bot cannot go under.
ANCHOR = """
import apscheduler.schedulers.asyncio
import bot.delivery.notifier
import bot.handlers
import bot.service.app
from bot.matching import analyze
analyze("Україна і Росія: переговори Умєрова у Стамбулі, a meeting in Istanbul.")
for line in open("/proc/self/status"):
    if line.startswith("VmRSS:"):
        print(line.split()[1])
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field}")


def _hwm_kib(pid: int) -> int:
    return _status_kib(pid, "VmHWM")


async def anchor_mib() -> float:
    """RSS of a process that imports the service and loads its dictionaries, and does nothing."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", ANCHOR, cwd=ROOT, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    return int(out.decode().split()[-1]) / 1024


_SYLLABLES = ["ко", "ва", "лен", "дар", "чук", "тин", "бра", "мир", "сла", "гор", "зен", "ош"]


def _write_feed(path: Path, n: int) -> None:
    """Varied posts: news sentences, and new names in most of them, so that the word caches
    keep meeting words they have not seen (a long run's vocabulary keeps growing)."""
    rng = random.Random(9)
    start = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
    with path.open("w", encoding="utf-8") as out:
        for i in range(1, n + 1):
            names = [
                "".join(rng.choices(_SYLLABLES, k=rng.randint(2, 4))).capitalize()
                + rng.choice(("енко", "ук", "ова", "ський", "ичу", "ові"))
                for _ in range(rng.randint(0, 3))
            ]
            text = " ".join(gen_export._sentence(rng) for _ in range(rng.randint(1, 3)))
            if names:
                text += f" Коментар: {', '.join(names)}."
            if i % 10 == 0:
                text += " Енергосистема працює стабільно."
            when = (start + timedelta(minutes=i)).isoformat()
            line = {"channel": "memory_probe", "id": i, "date": when, "text": text}
            out.write(json.dumps(line, ensure_ascii=False) + "\n")


async def _prepare(db: Path) -> None:
    store = await Store.open(db)
    try:
        if not await store.rules.list():
            await store.people.add(role="journalist", user_id=777001)
            await store.rules.add("енергосистема", rule_to_json(parse_rule("енергосистема")))
    finally:
        await store.close()


async def measure(db: Path, feed_posts: int, workdir: Path, settle: float) -> dict[str, float]:
    async with FakeBotAPI() as api:
        return await _measure(db, feed_posts, workdir, settle, api)


async def _measure(
    db: Path, feed_posts: int, workdir: Path, settle: float, api: FakeBotAPI
) -> dict[str, float]:
    await _prepare(db)
    feed = workdir / f"memory-feed-{db.stem}.jsonl"
    _write_feed(feed, feed_posts)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
    env.update(
        WIREWATCH_DB=str(db),
        WIREWATCH_HEALTH_PORT=str(port),
        WIREWATCH_LOG_LEVEL="WARNING",
        WIREWATCH_BOT__TOKEN=api.token,
        WIREWATCH_BOT__API_URL=api.url,
    )
    began = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli.main",
        "run",
        "--feed",
        str(feed),
        cwd=workdir,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    ingested_at = None
    timeline: list[tuple[float, int, float]] = []  # (seconds, feed bytes read, RSS MiB)
    size = feed.stat().st_size
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                if proc.returncode is not None:
                    raise RuntimeError("wirewatch run exited early")
                try:
                    async with http.get(url + "/healthz") as resp:
                        body = await resp.json()
                    async with http.get(url + "/metrics") as resp:
                        await resp.read()
                except (aiohttp.ClientError, TimeoutError):
                    await asyncio.sleep(0.2)
                    continue
                offsets = body.get("feeds", {})
                done = min(offsets.values()) if offsets else 0
                if not timeline or time.perf_counter() - began - timeline[-1][0] >= 2:
                    rss = _status_kib(proc.pid, "VmRSS") / 1024
                    timeline.append((time.perf_counter() - began, done, rss))
                if offsets and all(v >= size for v in offsets.values()):
                    ingested_at = time.perf_counter()
                    break
                await asyncio.sleep(0.2)
        await asyncio.sleep(settle)
        peak = _hwm_kib(proc.pid)
        steady = _status_kib(proc.pid, "VmRSS")
        timeline.append((time.perf_counter() - began, size, steady / 1024))
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        await proc.wait()
    feed.unlink()
    if ingested_at is None:
        raise RuntimeError("the feed was not ingested in time")
    sent = len(api.calls("sendMessage", ok=True))
    step = max(1, len(timeline) // 12)
    print(
        "  RSS over time: "
        + ", ".join(f"{t:.0f}s {100 * b / size:.0f}% {r:.0f} MiB" for t, b, r in timeline[::step])
        + f"; end {timeline[-1][2]:.0f} MiB"
    )
    return {
        "steady_mib": steady / 1024,
        "peak_mib": peak / 1024,
        "ingest_s": ingested_at - began,
        "code": proc.returncode,
        "sent": sent,
    }


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a 100,000-post database")
    parser.add_argument("--search-posts", type=int, default=None)
    parser.add_argument("--feed-posts", type=int, default=2_000)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds to run after ingest")
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "bench")
    args = parser.parse_args(argv)
    if args.search_posts is None:
        args.search_posts = 100_000 if args.quick else 1_000_000
    args.workdir.mkdir(parents=True, exist_ok=True)
    big = args.workdir / f"search-{args.search_posts}.db"
    spent = await build_search_db(big, args.search_posts, surnames(300))
    if spent:
        print(f"  built {big.name} in {spent:.0f}s")
    empty = args.workdir / "memory-empty.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(empty) + suffix).unlink(missing_ok=True)
    print(f"memory: `wirewatch run`, feed of {args.feed_posts} posts, bot on (fake Bot API)")
    base = await measure(empty, args.feed_posts, args.workdir, args.settle)
    print(
        f"  baseline, empty database:       peak RSS {base['peak_mib']:.0f} MiB "
        f"(feed ingested {base['ingest_s']:.1f}s after start, {base['sent']:.0f} alerts sent,"
        f" exit {base['code']:.0f})"
    )
    size = big.stat().st_size / 1e6
    got = await measure(big, args.feed_posts, args.workdir, args.settle)
    print(
        f"  {args.search_posts}-post database ({size:.0f} MB): peak RSS {got['peak_mib']:.0f} MiB "
        f"(feed ingested {got['ingest_s']:.1f}s after start, {got['sent']:.0f} alerts sent,"
        f" exit {got['code']:.0f})"
    )
    floor = await anchor_mib()
    print(f"  anchor, the service's imports and dictionaries, no work: {floor:.0f} MiB")
    worst = max(base["steady_mib"], got["steady_mib"])
    table_row(
        f"memory of `wirewatch run`, {args.feed_posts:,} varied posts, bot on",
        f"steady {worst:.0f} MiB, peak {max(base['peak_mib'], got['peak_mib']):.0f} MiB",
        f"imports (aiogram included) + dictionaries alone {floor:.0f} MiB",
        f"{worst / floor:.2f}×",
        "≤ 200 MiB steady (goal: after 100,000 posts)",
        worst <= 200,
    )
    shutil.rmtree(args.workdir / "__pycache__", ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
