"""Benchmark: PostgreSQL next to SQLite, same posts, same pipeline, same searches, one run.

    .venv/bin/python bench/postgres.py                    # 1,000,000 posts (long)
    .venv/bin/python bench/postgres.py --posts 100000     # the README's figures

Ingest: the archive corpus of bench/import_search.py (official-news sentences, an invented
surname in 1 post of 200) through the real pipeline in bulk (store, version row, search index,
matching with no rules) into a fresh SQLite file and a fresh PostgreSQL database; posts/s.
Search: bot.desk.search.search_posts (parse, index, newest first, every hit verified by the rule
matcher), first page of 20, the six query classes of bench/import_search.py, p50 and p95 per
back end. The anchor is SQLite measured in the same run: the ratio column is PostgreSQL/SQLite.

PostgreSQL: --url, or else a throwaway server (tests/pg.py: initdb into a temp dir, fsync off
as in the tests, so ingest is an upper bound for a durable server).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from import_search import QUERIES, _search_posts, percentile, surnames  # noqa: E402

from bot.desk.search import search_posts  # noqa: E402
from bot.ingest.pipeline import Pipeline  # noqa: E402
from storage.records import Post  # noqa: E402
from storage.store import Store  # noqa: E402
from tests import pg  # noqa: E402


async def ingest(target: str, n: int, names: list[str]) -> float:
    """posts/s of a bulk ingest of the corpus into an empty store at `target`."""
    store = await Store.open(target)
    try:
        pipeline = Pipeline(store, alert=False)
        t = time.perf_counter()
        chunk: list[Post] = []
        done = 0
        for post in _search_posts(n, names):
            chunk.append(post)
            if len(chunk) == 50_000:
                await pipeline.handle_batch(chunk, chunk=2000)
                done += len(chunk)
                chunk = []
                print(f"    {done}/{n} ({done / (time.perf_counter() - t):.0f}/s)", flush=True)
        if chunk:
            await pipeline.handle_batch(chunk, chunk=2000)
        seconds = time.perf_counter() - t
        assert await store.posts.count() == n
        return n / seconds
    finally:
        await store.close()


async def search(target: str, reps: int) -> dict[str, list[float]]:
    kyiv = ZoneInfo("Europe/Kyiv")
    out: dict[str, list[float]] = {}
    store = await Store.open(target)
    try:
        for q in QUERIES["1 word"][:2]:  # warm caches and the lemmatiser
            await search_posts(store, q, zone=kyiv)
        for klass, queries in QUERIES.items():
            times: list[float] = []
            for q in queries:
                for _ in range(reps):
                    t = time.perf_counter()
                    await search_posts(store, q, zone=kyiv)
                    times.append((time.perf_counter() - t) * 1000)
            out[klass] = times
    finally:
        await store.close()
    return out


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=5, help="runs of each query")
    parser.add_argument("--url", help="a postgresql:// URL to an empty database (default: own)")
    args = parser.parse_args(argv)
    print(f"postgres: python {sys.version.split()[0]}, {os.cpu_count()} cpus, {args.posts} posts")
    names = surnames(400)
    QUERIES["rare name"] = random.Random(11).sample(names, 6)
    server = None
    url = args.url
    if url is None:
        server = pg.start()
        if server.url is None:
            print(f"  no PostgreSQL: {server.reason}")
            return 1
        url = server.url
    try:
        with tempfile.TemporaryDirectory() as tmp:
            sqlite = str(Path(tmp) / "bench.db")
            print("  ingest SQLite")
            lite_rate = await ingest(sqlite, args.posts, names)
            print("  ingest PostgreSQL")
            pg_rate = await ingest(url, args.posts, names)
            lite = await search(sqlite, args.reps)
            post = await search(url, args.reps)
        print(
            f"\n  ingest: SQLite {lite_rate:.0f} posts/s, PostgreSQL {pg_rate:.0f} posts/s"
            f" (ratio {pg_rate / lite_rate:.2f})"
        )
        print(
            f"  {'search':10} {'SQLite p50':>10} {'p95':>8} {'PG p50':>9} {'p95':>8}"
            f" {'p95 ratio':>9}"
        )
        every_lite = [x for v in lite.values() for x in v]
        every_pg = [x for v in post.values() for x in v]
        for klass in [*QUERIES, "all"]:
            a = every_lite if klass == "all" else lite[klass]
            b = every_pg if klass == "all" else post[klass]
            print(
                f"  {klass:10} {statistics.median(a):8.1f}ms {percentile(a, 0.95):6.1f}ms"
                f" {statistics.median(b):7.1f}ms {percentile(b, 0.95):6.1f}ms"
                f" {percentile(b, 0.95) / percentile(a, 0.95):9.2f}"
            )
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
