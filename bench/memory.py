"""Benchmark: resident memory (RSS) of `wirewatch run` over time while it ingests a feed of varied
posts with the bot on, with an empty database and with the search database of
bench/import_search.py, against an anchor measured in the same run: a process that only imports
what the service imports and loads the dictionaries.

    .venv/bin/python bench/memory.py --quick               # 100,000-post database, 2,000 posts
    .venv/bin/python bench/memory.py --quick --feed-posts 100000   # the issue's long run
    .venv/bin/python bench/memory.py                       # var/bench/search-1000000.db

Each run: `wirewatch run --feed FEED` as a subprocess, started the way the README documents it
(`python -m bot.cli.main run`, the environment of this process minus WIREWATCH_*): no Telegram
credentials, so no listener; the bot on, against the local fake Bot API of tests/fakebot.py (long
polling, and the notifier sending the alerts of a desk rule that about one post in ten
matches). This script polls /healthz and /metrics and samples the process's RSS, split into
anonymous memory (the heap: Python objects, caches, compiled validators) and file-backed pages
(mapped code and data, shared and clean); the run ends once the feed is ingested and the bot has
sent alerts, plus --settle seconds; then SIGTERM. Steady RSS is the last sample; peak is the
kernel's high-water mark (VmHWM). A breakdown of the anchor (RSS after each import and each
dictionary, with aiogram imported as the service does and as aiogram does by itself) is printed
first. Builds the search database first if it is missing (slow: see import_search.py).
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

# The anchor: what `wirewatch run` imports with the bot on and no Telegram credentials (no
# telethon), in the service's order (bot.delivery first: aiogram's types deferred, then the
# ones the bot uses built), and the three dictionaries loaded; RSS after each step, so the
# floor is also a breakdown. With "eager", aiogram is imported first, as aiogram imports itself
# (every type's validator built).
ANCHOR = """
import sys
def rss():
    fields = {}
    for line in open("/proc/self/smaps_rollup"):
        parts = line.split()
        if len(parts) == 3 and parts[2] == "kB":
            fields[parts[0].rstrip(":")] = int(parts[1])
    return fields["Rss"] / 1024, fields["Anonymous"] / 1024
steps = [("python", rss())]
def step(name, code):
    exec(code, globals())
    steps.append((name, rss()))
if sys.argv[1] == "eager":
    step("aiogram imported by itself", "import aiogram")
step("settings, storage", "import bot.settings, storage.store")
step("aiohttp, asyncpg", "import aiohttp, asyncpg")
step("aiogram (bot.delivery)", "import bot.delivery.client, bot.delivery.notifier")
step("handlers, service, CLI", "import bot.handlers, bot.service.app, bot.cli.main")
step("APScheduler", "import apscheduler.schedulers.asyncio")
step("the bot's types built (warm)", "from bot.delivery.lazy_types import warm; warm()")
step("uk dictionary", "from bot.matching import analyze; analyze('Україна і переговори')")
step("ru dictionary", "analyze('Россия и переговоры, объявлено')")
step("en dictionary (lemminflect)", "analyze('a meeting in Istanbul')")
print("|".join(f"{name}={r:.1f}/{a:.1f}" for name, (r, a) in steps))
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


def _rollup_mib(pid: int) -> dict[str, float]:
    """/proc/PID/smaps_rollup in MiB: Rss, Pss, Anonymous, Private_Dirty, ..."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == "kB":
            fields[parts[0].rstrip(":")] = int(parts[1]) / 1024
    return fields


async def anchor(mode: str) -> list[tuple[str, float, float]]:
    """(step, RSS MiB, anonymous MiB) after each step of ANCHOR, in a fresh interpreter."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", ANCHOR, mode, cwd=ROOT, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"the anchor process failed ({mode})")
    steps = []
    for item in out.decode().strip().splitlines()[-1].split("|"):
        name, figures = item.rsplit("=", 1)
        rss, anon = figures.split("/")
        steps.append((name, float(rss), float(anon)))
    return steps


_SYLLABLES = ["ко", "ва", "лен", "дар", "чук", "тин", "бра", "мир", "сла", "гор", "зен", "ош"]
_LATIN_SYLLABLES = ["ma", "ker", "lo", "ston", "vi", "ran", "del", "bur", "sen", "tor", "al"]
# Written for this benchmark: English and Russian the way Ukrainian officials' channels quote
# them (a partner's statement, a Russian claim refuted), so that all three dictionaries load.
_ENGLISH = [
    "The ministers discussed air defence deliveries and reconstruction funding.",
    "Our partners confirmed the next aid package will arrive before winter.",
    "Talks continued on energy security and the protection of critical infrastructure.",
    "The delegation visited hospitals, schools and damaged power stations.",
]
_RUSSIAN = [
    "Российские пропагандисты снова распространяют ложные сообщения об обстрелах.",
    "Оккупанты заявили о якобы сбитых ракетах, это не соответствует действительности.",
]


def _name(rng: random.Random, latin: bool) -> str:
    if latin:
        return "".join(rng.choices(_LATIN_SYLLABLES, k=rng.randint(2, 3))).capitalize()
    return "".join(rng.choices(_SYLLABLES, k=rng.randint(2, 4))).capitalize() + rng.choice(
        ("енко", "ук", "ова", "ський", "ичу", "ові")
    )


def _write_feed(path: Path, n: int, channel: str) -> None:
    """Varied posts: news sentences, now and then English or Russian, and new names in most of
    them (Cyrillic and Latin), so that the word caches keep meeting words they have not seen
    (a long run's vocabulary keeps growing)."""
    rng = random.Random(9)
    start = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
    with path.open("w", encoding="utf-8") as out:
        for i in range(1, n + 1):
            names = [_name(rng, rng.random() < 0.2) for _ in range(rng.randint(0, 3))]
            text = " ".join(gen_export._sentence(rng) for _ in range(rng.randint(1, 3)))
            if names:
                text += f" Коментар: {', '.join(names)}."
            if i % 7 == 0:
                text += " " + rng.choice(_ENGLISH)
            if i % 11 == 0:
                text += " " + rng.choice(_RUSSIAN)
            if i % 10 == 0:
                text += " Енергосистема працює стабільно."
            when = (start + timedelta(minutes=i)).isoformat()
            line = {"channel": channel, "id": i, "date": when, "text": text}
            out.write(json.dumps(line, ensure_ascii=False) + "\n")


async def _prepare(db: Path) -> None:
    store = await Store.open(db)
    try:
        if not await store.rules.list():
            await store.people.add(role="journalist", user_id=777001)
            await store.rules.add("енергосистема", rule_to_json(parse_rule("енергосистема")))
    finally:
        await store.close()


def _run_name() -> str:
    """A feed file and channel new to the database each run: the service resumes a feed it has
    read before at the saved offset, and posts it has stored are not new (the search database
    is kept between runs)."""
    return f"memprobe_{time.time_ns() // 1_000_000 % 10**10}"  # a valid channel username


async def measure(db: Path, feed_posts: int, workdir: Path, settle: float) -> dict[str, float]:
    async with FakeBotAPI() as api:
        return await _measure(db, feed_posts, workdir, settle, api)


async def _measure(
    db: Path, feed_posts: int, workdir: Path, settle: float, api: FakeBotAPI
) -> dict[str, float]:
    await _prepare(db)
    name = _run_name()
    feed = workdir / f"{name}.jsonl"
    _write_feed(feed, feed_posts, name)
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
        stderr=asyncio.subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    ingested_at = None
    # (seconds, feed bytes read, RSS, anonymous, file-backed; MiB)
    timeline: list[tuple[float, int, float, float, float]] = []
    size = feed.stat().st_size
    every = max(2.0, feed_posts / 2_000)  # some 50-100 samples at any size

    def sample(done: int) -> None:
        m = _rollup_mib(proc.pid)
        rss, anon = m["Rss"], m["Anonymous"]
        timeline.append((time.perf_counter() - began, done, rss, anon, rss - anon))

    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            # Generous: a loaded 2-core machine ingests 100-300 posts/s.
            deadline = time.monotonic() + 600 + feed_posts / 20
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
                if not timeline or time.perf_counter() - began - timeline[-1][0] >= every:
                    sample(done)
                # Done once the feed is in and the bot is up and sending (aiogram imported).
                sending = body.get("notifier", {}).get("sent", 0) > 0
                if offsets and all(v >= size for v in offsets.values()) and sending:
                    ingested_at = time.perf_counter()
                    break
                await asyncio.sleep(0.5)
        await asyncio.sleep(settle)
        peak = _status_kib(proc.pid, "VmHWM") / 1024
        sample(size)
        final = _rollup_mib(proc.pid)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        await proc.wait()
    feed.unlink()
    if ingested_at is None:
        raise RuntimeError("the feed was not ingested (or no alert sent) in time")
    sent = len(api.calls("sendMessage", ok=True))
    step = max(1, len(timeline) // 12)
    shown = timeline[::step]
    if shown[-1] is not timeline[-1]:
        shown.append(timeline[-1])
    print("  RSS over time (seconds, share of the feed ingested: RSS = anonymous + file-backed):")
    print(
        "    "
        + "; ".join(
            f"{t:.0f}s {100 * b / size:.0f}%: {r:.0f} = {a:.0f} + {f:.0f} MiB"
            for t, b, r, a, f in shown
        )
    )
    return {
        "steady_mib": final["Rss"],
        "anon_mib": final["Anonymous"],
        "pss_mib": final["Pss"],
        "peak_mib": peak,
        "ingest_s": ingested_at - began,
        "code": proc.returncode,
        "sent": sent,
    }


def _report(label: str, got: dict[str, float]) -> None:
    print(
        f"  {label}: steady RSS {got['steady_mib']:.0f} MiB (anonymous {got['anon_mib']:.0f},"
        f" PSS {got['pss_mib']:.0f}), peak {got['peak_mib']:.0f} MiB; feed ingested"
        f" {got['ingest_s']:.0f}s after start, {got['sent']:.0f} alerts sent, exit"
        f" {got['code']:.0f}"
    )


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a 100,000-post database")
    parser.add_argument("--search-posts", type=int, default=None)
    parser.add_argument("--feed-posts", type=int, default=2_000)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds to run after ingest")
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "bench")
    parser.add_argument("--skip-empty", action="store_true", help="only the search database")
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

    ours = await anchor("service")
    eager = await anchor("eager")
    floor = ours[-1][1]
    print("memory: the anchor, RSS after each step of a process that only imports and loads:")
    last = 0.0
    for name, rss, anon in ours:
        print(f"  {name:30} {rss:6.1f} MiB (+{rss - last:5.1f}; anonymous {anon:6.1f})")
        last = rss
    print(
        f"  aiogram as it imports itself (every type's validator built): {eager[1][1]:.0f} MiB"
        f" after `import aiogram` alone; all the steps above then {eager[-1][1]:.0f} MiB"
    )

    print(f"memory: `wirewatch run`, feed of {args.feed_posts} posts, bot on (fake Bot API)")
    runs = []
    if not args.skip_empty:
        runs.append(await measure(empty, args.feed_posts, args.workdir, args.settle))
        _report("empty database", runs[-1])
    size = big.stat().st_size / 1e6
    # On a copy: the feed's posts (new ids, older dates than the newest built) would change
    # the search benchmark's database for every later run.
    work = args.workdir / f"memory-{args.search_posts}.db"
    shutil.copyfile(big, work)
    try:
        runs.append(await measure(work, args.feed_posts, args.workdir, args.settle))
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(str(work) + suffix).unlink(missing_ok=True)
    _report(f"{args.search_posts}-post database ({size:.0f} MB)", runs[-1])
    worst = max(r["steady_mib"] for r in runs)
    print(f"  anchor, the service's imports and dictionaries, no work: {floor:.0f} MiB")
    table_row(
        f"memory of `wirewatch run`, {args.feed_posts:,} varied posts, bot on",
        f"steady {worst:.0f} MiB, peak {max(r['peak_mib'] for r in runs):.0f} MiB",
        f"imports (aiogram included) + dictionaries alone {floor:.0f} MiB",
        f"{worst / floor:.2f}×",
        "≤ 200 MiB steady (goal: after 100,000 posts)",
        worst <= 200,
    )
    shutil.rmtree(args.workdir / "__pycache__", ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
