"""Search paging sessions on both back ends: kept across a reopen, owned, bounded."""

from __future__ import annotations

from storage.db import now
from storage.search_sessions import SearchSessionRepo
from storage.store import Store


async def test_sessions_survive_a_reopen_and_belong_to_their_person(db_target: str) -> None:
    store = await Store.open(db_target)
    try:
        await store.search_sessions.create("a1b2c3d4", 501, "енергетика AND Київ")
        await store.search_sessions.save("a1b2c3d4", [None, (1764000000, 42)])
    finally:
        await store.close()
    store = await Store.open(db_target)
    try:
        assert await store.search_sessions.get("a1b2c3d4", 501) == (
            "енергетика AND Київ",
            [None, (1764000000, 42)],
        )
        assert await store.search_sessions.get("a1b2c3d4", 502) is None
        assert await store.search_sessions.get("ffffffff", 501) is None
    finally:
        await store.close()


async def test_only_the_newest_sessions_are_kept(db_target: str) -> None:
    store = await Store.open(db_target)
    try:
        repo = SearchSessionRepo(store.db, keep=3)
        for n in range(6):
            await repo.create(f"{n:08x}", 7, f"запит {n}")
            # Distinct use times, newest last: the clock's second would tie them.
            await store.db.execute(
                "UPDATE search_sessions SET used_at = ? WHERE token = ?",
                (now() - 100 + n, f"{n:08x}"),
            )
        await repo.create("0000000a", 7, "останній")
        kept = [n for n in range(6) if await repo.get(f"{n:08x}", 7) is not None]
        assert kept == [4, 5]  # with the new one, the three newest
        assert await repo.get("0000000a", 7) is not None
        # A week-old session goes whatever the count.
        await store.db.execute(
            "UPDATE search_sessions SET used_at = 1000 WHERE token = ?", ("00000005",)
        )
        await repo.create("0000000b", 7, "ще один")
        assert await repo.get("00000005", 7) is None and await repo.get("00000004", 7) is not None
    finally:
        await store.close()
