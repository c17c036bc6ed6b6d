"""Account leases and the channels' accounts, on SQLite and PostgreSQL."""

from __future__ import annotations

from storage.store import Store


async def test_leases_and_assignments_round_trip(db_target: str) -> None:
    store = await Store.open(db_target)
    try:
        await store.accounts.ensure(["alpha", "beta"])
        await store.accounts.ensure(["alpha"])  # again: nothing changes
        leases = {lease.account: lease for lease in await store.accounts.leases()}
        assert set(leases) == {"alpha", "beta"} and leases["alpha"].holder is None
        await store.accounts.take("alpha", "pid 1 on a", 30)
        assert await store.accounts.renew("alpha", "pid 1 on a", 30)
        assert not await store.accounts.renew("alpha", "pid 2 on b", 30)
        alpha = next(x for x in await store.accounts.leases() if x.account == "alpha")
        assert alpha.holder == "pid 1 on a" and alpha.expires_at is not None
        assert await store.accounts.set_failed("beta", "banned")
        assert not await store.accounts.set_failed("nobody", "x")

        one = await store.sources.ensure("chan_one")
        two = await store.sources.ensure("chan_two")
        rows = {r.username: r for r in await store.accounts.assignments()}
        assert rows["chan_one"].account is None and rows["chan_two"].reader is None
        await store.accounts.assign(one.id, "alpha")
        await store.accounts.assign(two.id, "beta", pinned=True)
        assert await store.accounts.set_reader(one.id, "alpha", was=None)
        assert not await store.accounts.set_reader(one.id, "beta", was=None)  # alpha reads it
        await store.accounts.refuse(one.id, "beta")
        await store.accounts.refuse(one.id, "gamma")
        rows = {r.username: r for r in await store.accounts.assignments()}
        assert rows["chan_one"].account == "alpha" and rows["chan_one"].reader == "alpha"
        assert rows["chan_one"].refused == {"beta", "gamma"}
        assert rows["chan_two"].pinned and rows["chan_two"].account == "beta"
        await store.sources.set_active(two.id, False)
        assert [r.username for r in await store.accounts.assignments()] == ["chan_one"]
        async with store.transaction():
            await store.accounts.lock()
            await store.accounts.assign(one.id, "beta")
        assert (await store.accounts.assignments())[0].account == "beta"
    finally:
        await store.close()
