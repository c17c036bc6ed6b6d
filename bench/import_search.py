"""Benchmark: import throughput and archive search latency, each against its baseline measured in
the same run.

    .venv/bin/python bench/import_search.py                      # 100,000 import, 1,000,000 search
    .venv/bin/python bench/import_search.py --posts 20000 --search-posts 100000   # quick look

Import: a synthetic Telegram Desktop export (tests/gen_export.py) of --posts posts is read and
imported through the real pipeline in bulk (store, version row, FTS index, rule matching with no
rules) into a fresh database; posts/s counts the whole import. Baseline: the same pipeline one
transaction per post (how a live listener writes), on the first --baseline-posts posts.

Search: a database of --search-posts posts (built once through the same bulk pipeline and kept
in --workdir for the next run and for bench/memory.py). Official-news sentences from the export
generator, and in 1 post of 200 an invented surname (the long tail a newsroom really searches
for). Queries in six classes: 1, 2 and 3 words, prefix (`word*`), phrase (`"a b"`), rare name.
Ours: bot.desk.search.search_posts (parse, FTS5 MATCH, newest first, verification of every hit with
the rule matcher), first page of 20. Baseline: `norm LIKE '%word%'` for each word on the same
normalised text, newest first, LIMIT 20 (storage.search.SearchRepo.scan_like).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.desk.search import search_posts  # noqa: E402
from bot.ingest.pipeline import Pipeline  # noqa: E402
from bot.matching import normalize  # noqa: E402
from sources.export import load_export  # noqa: E402
from storage.records import Post  # noqa: E402
from storage.store import Store  # noqa: E402
from tests import gen_export  # noqa: E402

CHANNEL = "synth_channel"
SEARCH_CHANNEL = "archive_channel"

QUERIES: dict[str, list[str]] = {
    "1 word": ["санкції", "полонених", "енергосистеми", "дронів", "Харкові", "МАГАТЕ"],
    "2 words": ["обмін полоненими", "міністр оборони", "ремонт підстанцій", "зброя далекобійна"],
    "3 words": [
        "посилення протиповітряної оборони",
        "відбудова шкіл лікарень",
        "арешт активів Росії",
    ],
    "prefix": ["енерго*", "полон*", "відбуд*", "санкц*"],
    "phrase": ['"обмін полоненими"', '"мирним планом"', '"гуманітарних коридорів"'],
    "rare name": [],  # filled from the invented surnames
}
_SYLLABLES = ["ко", "ва", "лен", "дар", "чук", "тин", "бра", "мир", "сла", "гор", "зен", "ош"]
_ENDINGS = ["енко", "чук", "ський", "ович", "ишин", "ак"]


def surnames(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    out: set[str] = set()
    while len(out) < n:
        stem = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3)))
        out.add((stem + rng.choice(_ENDINGS)).capitalize())
    return sorted(out)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


# -- import ---------------------------------------------------------------------------------


async def bench_import(workdir: Path, n: int, baseline_n: int) -> dict[str, float]:
    export = workdir / f"export-{n}.json"
    if not export.exists():
        t = time.perf_counter()
        gen_export.generate_export(export, n, channel_id=1700000001, name="Synth", seed=1)
        print(f"  generated {export.name} in {time.perf_counter() - t:.1f}s")
    t = time.perf_counter()
    events = list(load_export(export, source=CHANNEL, known={}).posts)
    read_s = time.perf_counter() - t

    db = workdir / "import.db"
    _remove_db(db)
    store = await Store.open(db)
    try:
        t = time.perf_counter()
        result = await Pipeline(store, alert=False).handle_batch(events)
        bulk_s = time.perf_counter() - t
        stored = await store.posts.count()
    finally:
        await store.close()
    assert result.stored == stored, (result, stored)

    base_db = workdir / "import-baseline.db"
    _remove_db(base_db)
    store = await Store.open(base_db)
    try:
        pipeline = Pipeline(store, alert=False)
        sample = events[:baseline_n]
        t = time.perf_counter()
        for ev in sample:
            await pipeline.handle(ev)
        base_s = time.perf_counter() - t
    finally:
        await store.close()
    _remove_db(base_db)
    return {
        "posts": float(stored),
        "read_s": read_s,
        "bulk_s": bulk_s,
        "bulk_rate": stored / bulk_s,
        "with_read_rate": stored / (bulk_s + read_s),
        "base_n": float(len(sample)),
        "base_rate": len(sample) / base_s,
    }


# -- search ---------------------------------------------------------------------------------


def _search_posts(n: int, names: list[str], seed: int = 3) -> Iterator[Post]:
    rng = random.Random(seed)
    start = datetime(2022, 2, 24, 6, 0, tzinfo=UTC)
    when = start
    for i in range(1, n + 1):
        when += timedelta(seconds=rng.randint(30, 240))
        parts = [gen_export._sentence(rng) for _ in range(rng.randint(1, 3))]
        if rng.random() < 1 / 200:
            parts.append(f"Коментар надав радник {rng.choice(names)}.")
        yield Post(channel=SEARCH_CHANNEL, message_id=i, date=when, text=" ".join(parts))


async def build_search_db(path: Path, n: int, names: list[str]) -> float:
    """Build once; returns seconds spent (0 when a complete database was already there)."""
    if path.exists():
        store = await Store.open(path)
        try:
            if await store.posts.count() >= n:  # bench/memory.py may have added a few
                return 0.0
        finally:
            await store.close()
        _remove_db(path)
    tmp = path.with_suffix(".building")
    _remove_db(tmp)
    store = await Store.open(tmp)
    t = time.perf_counter()
    done = 0
    try:
        pipeline = Pipeline(store, alert=False)
        chunk: list[Post] = []
        for post in _search_posts(n, names):
            chunk.append(post)
            if len(chunk) == 50_000:
                await pipeline.handle_batch(chunk, chunk=2000)
                done += len(chunk)
                chunk = []
                rate = done / (time.perf_counter() - t)
                print(f"  built {done}/{n} posts ({rate:.0f}/s)", flush=True)
        if chunk:
            await pipeline.handle_batch(chunk, chunk=2000)
    finally:
        await store.close()
    _remove_db(path)
    os.replace(tmp, path)
    return time.perf_counter() - t


async def bench_search(path: Path, names: list[str], reps: int, like_reps: int) -> None:
    rng = random.Random(11)
    QUERIES["rare name"] = rng.sample(names, 6)
    kyiv = ZoneInfo("Europe/Kyiv")
    store = await Store.open(path)
    try:
        for q in QUERIES["1 word"][:2]:  # warm the page cache and the lemmatiser
            await search_posts(store, q, zone=kyiv)
        print(
            f"  {'class':10} {'ours p50':>9} {'ours p95':>9} {'LIKE p50':>9} {'LIKE p95':>9}"
            f" {'speed-up p50':>12} {'p95':>6} {'mean':>6}  hits(first page)"
        )
        all_ours: list[float] = []
        all_like: list[float] = []
        for klass, queries in QUERIES.items():
            ours: list[float] = []
            like: list[float] = []
            hits: list[int] = []
            for q in queries:
                for _ in range(reps):
                    t = time.perf_counter()
                    page = await search_posts(store, q, zone=kyiv)
                    ours.append((time.perf_counter() - t) * 1000)
                hits.append(len(page.hits))
                words = [normalize(w.strip('"*')) for w in _like_parts(q)]
                for _ in range(like_reps):
                    t = time.perf_counter()
                    await store.search.scan_like(words, limit=20)
                    like.append((time.perf_counter() - t) * 1000)
            all_ours += ours
            all_like += like
            print(
                f"  {klass:10} {statistics.median(ours):8.1f}ms {percentile(ours, 0.95):8.1f}ms"
                f" {statistics.median(like):8.0f}ms {percentile(like, 0.95):8.0f}ms"
                f" {statistics.median(like) / statistics.median(ours):11.0f}x"
                f" {percentile(like, 0.95) / percentile(ours, 0.95):5.0f}x"
                f" {statistics.mean(like) / statistics.mean(ours):5.0f}x  {hits}"
            )
        print(
            f"  {'all':10} {statistics.median(all_ours):8.1f}ms"
            f" {percentile(all_ours, 0.95):8.1f}ms {statistics.median(all_like):8.0f}ms"
            f" {percentile(all_like, 0.95):8.0f}ms"
            f" {statistics.median(all_like) / statistics.median(all_ours):11.0f}x"
            f" {percentile(all_like, 0.95) / percentile(all_ours, 0.95):5.0f}x"
            f" {statistics.mean(all_like) / statistics.mean(all_ours):5.0f}x"
        )
        print(
            "  (LIKE with LIMIT 20 stops early when a word is frequent, so its median is tiny;"
            " its p95 and mean are the full scans a newsroom waits for.)"
        )
    finally:
        await store.close()


def _like_parts(query: str) -> list[str]:
    if query.startswith('"'):
        return [query.strip('"')]
    return query.split()


def _remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        p = Path(str(path) + suffix)
        if p.exists():
            p.unlink()


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--posts", type=int, default=100_000, help="posts in the import export")
    parser.add_argument("--baseline-posts", type=int, default=5_000)
    parser.add_argument("--search-posts", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=5, help="runs of each query (ours)")
    parser.add_argument("--like-reps", type=int, default=1, help="runs of each LIKE scan")
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "bench")
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument("--skip-search", action="store_true")
    parser.add_argument("--clean", action="store_true", help="delete the workdir afterwards")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    print(f"import_search: python {sys.version.split()[0]}, {os.cpu_count()} cpus")
    if not args.skip_import:
        print(f"== import of {args.posts} posts (Telegram Desktop export, FTS included)")
        r = await bench_import(args.workdir, args.posts, args.baseline_posts)
        print(
            f"  bulk import: {r['posts']:.0f} posts in {r['bulk_s']:.1f}s = "
            f"{r['bulk_rate']:.0f} posts/s ({r['with_read_rate']:.0f}/s with reading the "
            f"{r['read_s']:.1f}s JSON)"
        )
        print(
            f"  baseline, one transaction per post ({r['base_n']:.0f} posts): "
            f"{r['base_rate']:.0f} posts/s -> bulk is {r['bulk_rate'] / r['base_rate']:.1f}x"
        )
        _remove_db(args.workdir / "import.db")
    if not args.skip_search:
        names = surnames(300)
        path = args.workdir / f"search-{args.search_posts}.db"
        print(f"== search on {args.search_posts} posts ({path})")
        spent = await build_search_db(path, args.search_posts, names)
        if spent:
            print(f"  built in {spent:.0f}s ({args.search_posts / spent:.0f} posts/s)")
        size = path.stat().st_size / 1e6
        print(f"  database {size:.0f} MB; first page of 20, newest first")
        await bench_search(path, names, args.reps, args.like_reps)
    if args.clean:
        shutil.rmtree(args.workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
