"""Benchmark: PostgreSQL next to SQLite, same posts, same pipeline, same searches, one run.

    nice .venv/bin/python bench/postgres.py                    # 1,000,000 posts (the issue's)
    nice .venv/bin/python bench/postgres.py --quick            # 100,000 posts

Ingest: the archive corpus of bench/import_search.py (official-news sentences, an invented
surname in 1 post of 200) through the real pipeline in bulk (store, evidence, search index,
matching with no rules); posts/s. A million posts through the pipeline would take hours here,
nearly all of it lemmatising, so the archive grows in three steps, each on both back ends:
  1. seed: --seed posts through the pipeline into an empty store (rate "from empty");
  2. fill: the seed's analysed posts copied by SQL (storage/fill.py: new message ids, older
     dates; the search index built by the same triggers) up to --posts minus --seed;
  3. at scale: --seed more posts through the pipeline into that archive (rate "at scale").
With --posts at most twice --seed there is no fill: everything goes through the pipeline.
Search: bot.desk.search.search_posts (parse, index, newest first, every hit verified by the rule
matcher), first page of 20, the six query classes of bench/import_search.py, SQLite and
PostgreSQL alternating query by query; p50 and p95 per back end. The anchor is SQLite in the
same run: the ratio column is PostgreSQL/SQLite.

Long post (`--long-post`, instead of the above): a register pasted into a feed, one post of
--long-chars characters (the same sentences run together) among --long-among short ones,
searched by words only it holds, so that the page's one hit is the long post; p50 on both back
ends, each with search deciding hits from the posts' stored keys (as it does) and re-reading
every candidate's text (what PostgreSQL did before its migration 21: its posts had no
stored-keys marks).

PostgreSQL: --url, or else a throwaway server (tests/pg.py: initdb into a temp dir, fsync off
as in the tests, so ingest is an upper bound for a durable server).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from import_search import QUERIES, _search_posts, percentile, surnames  # noqa: E402

import bot.desk.search as desk_search  # noqa: E402
from bot.desk.search import search_posts  # noqa: E402
from bot.ingest.pipeline import Pipeline  # noqa: E402
from storage.fill import copy_posts  # noqa: E402
from storage.fts_query import Term  # noqa: E402
from storage.postgres import is_postgres_url  # noqa: E402
from storage.records import Post  # noqa: E402
from storage.store import Store  # noqa: E402
from tests import gen_export, pg  # noqa: E402

NAMES = ("SQLite", "PostgreSQL")


async def ingest(target: str, posts: list[Post]) -> float:
    """posts/s of a bulk ingest of `posts` into the store at `target`."""
    store = await Store.open(target)
    try:
        pipeline = Pipeline(store, alert=False)
        before = await store.posts.count()
        t = time.perf_counter()
        for i in range(0, len(posts), 50_000):
            chunk = posts[i : i + 50_000]
            await pipeline.handle_batch(chunk, chunk=2000)
            done = i + len(chunk)
            print(
                f"    {done}/{len(posts)} ({done / (time.perf_counter() - t):.0f}/s)", flush=True
            )
        seconds = time.perf_counter() - t
        assert await store.posts.count() == before + len(posts)
        return len(posts) / seconds
    finally:
        await store.close()


async def fill(target: str, copies: int, seed: int) -> float:
    """Seconds to copy the seed `copies` times."""
    store = await Store.open(target)
    try:
        word = Term("на", "norm")  # in about a post of four
        before = len(await store.search.plain_fts(word, limit=10**7))
        t = time.perf_counter()
        await copy_posts(store.db, copies=copies, rows=seed, fts=not is_postgres_url(target))
        seconds = time.perf_counter() - t
        # Every copy is searchable: a word's hits grew with the posts.
        assert len(await store.search.plain_fts(word, limit=10**7)) == (copies + 1) * before
        return seconds
    finally:
        await store.close()


async def search(targets: list[str], reps: int) -> list[dict[str, list[float]]]:
    """Each query on each target in turn, so both see the same moments of machine load."""
    kyiv = ZoneInfo("Europe/Kyiv")
    out: list[dict[str, list[float]]] = [{} for _ in targets]
    stores = [await Store.open(t) for t in targets]
    try:
        for store in stores:
            for q in QUERIES["1 word"][:2]:  # warm caches and the lemmatiser
                await search_posts(store, q, zone=kyiv)
        for klass, queries in QUERIES.items():
            for q in queries:
                for _ in range(reps):
                    for n, store in enumerate(stores):
                        t = time.perf_counter()
                        await search_posts(store, q, zone=kyiv)
                        out[n].setdefault(klass, []).append((time.perf_counter() - t) * 1000)
    finally:
        for store in stores:
            await store.close()
    return out


LONG_QUERIES = (
    "ліцензіатів",
    "перелік реквізитів",
    '"перелік ліцензіатів"',
    "ліцензіат* OR Зеленчук",
)


async def long_post(targets: list[str], chars: int, among: int, reps: int) -> None:
    """The --long-post case (module docstring)."""
    rng = random.Random(5)
    parts: list[str] = []
    size = 0
    while size < chars:
        parts.append(gen_export._sentence(rng))
        size += len(parts[-1]) + 1
    # Words the short posts never hold, far into the text.
    parts.insert(len(parts) * 3 // 4, "Додаток містить перелік ліцензіатів та їхні реквізити.")
    big = " ".join(parts)
    short = list(_search_posts(among, ["Мельник"]))
    kyiv = ZoneInfo("Europe/Kyiv")
    stores = [await Store.open(t) for t in targets]
    try:
        for store in stores:
            pipeline = Pipeline(store, alert=False)
            await pipeline.handle_batch(short[: among // 2], chunk=500)
            first = short[among // 2]
            await pipeline.handle(
                Post(channel=first.channel, message_id=among + 1, date=first.date, text=big)
            )
            await pipeline.handle_batch(short[among // 2 :], chunk=500)
        times: dict[tuple[int, bool], list[float]] = {}
        for q in LONG_QUERIES:
            for _ in range(reps):
                for stored in (True, False):
                    desk_search.STORED_VERDICT = stored
                    for n, store in enumerate(stores):
                        t = time.perf_counter()
                        page = await search_posts(store, q, zone=kyiv)
                        times.setdefault((n, stored), []).append((time.perf_counter() - t) * 1000)
                        assert [len(h.post.text) for h in page.hits] == [len(big)], q
        desk_search.STORED_VERDICT = True
        print(
            f"  long post: {len(big):,} characters among {among} posts, queries"
            f" {', '.join(LONG_QUERIES)}; first page (its one hit), p50 of {reps} runs each"
        )
        lite = statistics.median(times[(0, True)])
        for n, name in enumerate(NAMES):
            for stored in (True, False):
                how = "from stored keys" if stored else "re-reading every hit"
                p50 = statistics.median(times[(n, stored)])
                print(f"  {name:10} {how:22} p50 {p50:7.1f} ms  ({p50 / lite:5.1f}x SQLite's)")
    finally:
        for store in stores:
            await store.close()


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=50_000, help="posts per pipeline step")
    parser.add_argument("--quick", action="store_true", help="100,000 posts")
    parser.add_argument("--reps", type=int, default=5, help="runs of each query")
    parser.add_argument("--url", help="a postgresql:// URL to an empty database (default: own)")
    parser.add_argument("--long-post", action="store_true", help="only the long-post case")
    parser.add_argument("--long-chars", type=int, default=1_000_000)
    parser.add_argument("--long-among", type=int, default=2_000)
    args = parser.parse_args(argv)
    if args.long_post:
        return await _long_main(args)
    if args.quick:
        args.posts = 100_000
    seed = min(args.seed, args.posts)
    late = min(seed, args.posts - seed)
    copies = (args.posts - seed - late) // seed
    if seed + copies * seed + late != args.posts:
        parser.error(f"--posts minus twice --seed must be a multiple of --seed ({seed})")
    print(
        f"postgres: python {sys.version.split()[0]}, {os.cpu_count()} cpus, {args.posts} posts"
        f" (seed {seed} through the pipeline, {copies} copies by SQL, {late} more through the"
        " pipeline)"
    )
    names = surnames(400)
    QUERIES["rare name"] = random.Random(11).sample(names, 6)
    posts = list(_search_posts(seed + late, names))
    with _postgres(args.url) as url:
        if url is None:
            return 1
        with tempfile.TemporaryDirectory() as tmp:
            targets = [str(Path(tmp) / "bench.db"), url]
            first: list[float] = []
            for name, target in zip(NAMES, targets, strict=True):
                print(f"  seed {name}", flush=True)
                first.append(await ingest(target, posts[:seed]))
            filled: list[float] = []
            if copies:
                for name, target in zip(NAMES, targets, strict=True):
                    print(f"  fill {name}: {copies} copies of the seed", flush=True)
                    filled.append(await fill(target, copies, seed))
            later: list[float] = []
            if late:
                for name, target in zip(NAMES, targets, strict=True):
                    print(f"  at scale {name}", flush=True)
                    later.append(await ingest(target, posts[seed:]))
            lite, post = await search(targets, args.reps)
        print(
            f"\n  ingest from empty ({seed} posts): SQLite {first[0]:.0f} posts/s,"
            f" PostgreSQL {first[1]:.0f} posts/s (ratio {first[1] / first[0]:.2f})"
        )
        if filled:
            print(
                f"  fill ({copies * seed} posts copied): SQLite {filled[0]:.0f} s,"
                f" PostgreSQL {filled[1]:.0f} s"
            )
        if later:
            print(
                f"  ingest at scale ({late} posts into {args.posts - late}): SQLite"
                f" {later[0]:.0f} posts/s, PostgreSQL {later[1]:.0f} posts/s"
                f" (ratio {later[1] / later[0]:.2f})"
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
    return 0


async def _long_main(args: argparse.Namespace) -> int:
    print(f"postgres --long-post: python {sys.version.split()[0]}, {os.cpu_count()} cpus")
    with _postgres(args.url) as url:
        if url is None:
            return 1
        with tempfile.TemporaryDirectory() as tmp:
            await long_post(
                [str(Path(tmp) / "long.db"), url], args.long_chars, args.long_among, args.reps
            )
    return 0


@contextlib.contextmanager
def _postgres(url: str | None) -> Iterator[str | None]:
    """`url`, or a throwaway server's for the run (None, said why, when there is none)."""
    if url is not None:
        yield url
        return
    server = pg.start()
    if server.url is None:
        print(f"  no PostgreSQL: {server.reason}")
        yield None
        return
    try:
        yield server.url
    finally:
        server.stop()


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
