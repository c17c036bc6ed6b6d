"""A group upgraded to a supergroup whose new id is on the desk already (someone added the
supergroup by its id before the bot heard of the upgrade): two rows, one chat. The old row's
waiting alerts join the new row's queue; those the new row has already are not sent twice;
an update to a story of the old group goes unthreaded; the admin is told once; nothing fails.
Over real HTTP to the fake Bot API, on both back ends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.delivery.chats import follow_upgrade
from storage.records import Post
from storage.store import Store
from tests.delivery.test_group_upgrade_alerts import notifier
from tests.fakebot import FakeBotAPI, fakebot

__all__ = ["fakebot"]
OLD = -4_003
NEW = -1_000_000_004_003
ADMIN = 7002


@pytest.fixture
async def store(db_target: str) -> AsyncIterator[Store]:
    st = await Store.open(db_target)
    yield st
    await st.close()


async def queue(
    store: Store,
    person_id: int,
    post_id: int,
    html: str,
    *,
    kind: str = "new",
    version: int = 1,
    reply_to: int | None = None,
) -> int:
    alert_id = await store.alerts.enqueue(
        person_id=person_id,
        post_id=post_id,
        kind=kind,  # type: ignore[typeddict-item]
        version=version,
        payload={"messages": [{"html": html}], "plain": html},
        reply_to_alert=reply_to,
    )
    assert alert_id is not None
    return alert_id


async def test_an_upgraded_group_whose_new_id_is_on_the_desk_merges_into_it(
    store: Store, fakebot: FakeBotAPI
) -> None:
    src = await store.sources.ensure("city_council")
    posts = [
        await store.posts.insert(
            src.id, Post("city_council", n, datetime(2026, 4, n, tzinfo=UTC)), "", ""
        )
        for n in (1, 2, 3)
    ]
    group = (await store.people.add(role="journalist", user_id=OLD, lang="uk")).id
    admin = (await store.people.add(role="admin", user_id=ADMIN, lang="en")).id
    own_rule = (await store.rules.add("бюджет", {}, owner_id=group)).id
    story = await queue(store, group, posts[0], "<b>Рада</b>: сесію перенесли на вівторок.")
    assert await notifier(store, fakebot).drain_once() == 1

    # Telegram upgrades the group; before the bot hears of it, an editor adds the supergroup
    # by its new id, and the same post matches for both rows.
    await fakebot.upgrade_group(OLD, NEW, by=ADMIN, tell=False)
    supergroup = (await store.people.add(role="journalist", user_id=NEW, lang="uk")).id
    both = "<b>Рада</b>: бюджет міста ухвалили в першому читанні."
    twin_old = await queue(store, group, posts[1], both)
    twin_new = await queue(store, supergroup, posts[1], both)
    only_old = await queue(store, group, posts[2], "<b>Рада</b>: комісія з бюджету о 15:00.")
    update = await queue(
        store,
        group,
        posts[0],
        "<b>Оновлено</b>: сесія у вівторок о 10:00.",
        kind="edit",
        version=2,
        reply_to=story,
    )
    follow_twin = await queue(
        store,
        group,
        posts[1],
        "<b>Оновлено</b>: за бюджет 28 голосів.",
        kind="edit",
        version=2,
        reply_to=twin_old,
    )

    n = notifier(store, fakebot)
    await n.drain_once()
    assert n.failed == 0

    texts = [m.text for m in fakebot.sent_messages(NEW)]
    assert texts.count("Рада: бюджет міста ухвалили в першому читанні.") == 1
    assert texts.count("Рада: комісія з бюджету о 15:00.") == 1
    assert texts.count("Оновлено: сесія у вівторок о 10:00.") == 1
    assert texts.count("Оновлено: за бюджет 28 голосів.") == 1
    assert len(texts) == 4
    by_text = {m.text: m for m in fakebot.sent_messages(NEW)}
    # The story is in the old chat: its update replies to nothing in the new one; the twin's
    # update replies to the twin the supergroup got.
    assert by_text["Оновлено: сесія у вівторок о 10:00."].reply_to is None
    kept = await store.alerts.get(twin_new)
    assert kept is not None and kept.status == "sent"
    assert by_text["Оновлено: за бюджет 28 голосів."].reply_to == kept.tg_message_id

    for alert_id in (only_old, update, follow_twin):
        row = await store.alerts.get(alert_id)
        assert row is not None and row.status == "sent" and row.person_id == supergroup
    assert await store.alerts.get(twin_old) is None
    old_row = await store.people.get(group)
    assert old_row is not None and not old_row.active
    rule = await store.rules.get(own_rule)
    assert rule is not None and rule.owner_id == supergroup

    # The admin is told once, in their language; again later (the service messages arrive,
    # another 400, a restart) it is not.
    told = [m.text for m in fakebot.sent_messages(ADMIN)]
    assert len(told) == 1
    assert str(OLD) in told[0] and str(NEW) in told[0] and "not sent twice: 1" in told[0]
    assert not await follow_upgrade(store, OLD, NEW)
    assert await notifier(store, fakebot).drain_once() == 0
    assert len(fakebot.sent_messages(ADMIN)) == 1
    assert admin


async def test_a_removed_row_of_the_new_id_gives_it_up_to_the_group(
    store: Store, fakebot: FakeBotAPI
) -> None:
    """An admin added the supergroup by its id and removed it again: the group's alerts follow
    the upgrade as usual, not into the removed row, where they would be held for good."""
    src = await store.sources.ensure("city_council")
    post = await store.posts.insert(
        src.id, Post("city_council", 1, datetime(2026, 4, 1, tzinfo=UTC)), "", ""
    )
    group = (await store.people.add(role="journalist", user_id=OLD, lang="uk")).id
    removed = (await store.people.add(role="journalist", user_id=NEW, lang="uk")).id
    await store.people.remove(removed)
    await fakebot.upgrade_group(OLD, NEW, by=ADMIN, tell=False)
    alert = await queue(store, group, post, "<b>Рада</b>: засідання о 10:00.")
    n = notifier(store, fakebot)
    assert await n.drain_once() == 1
    assert n.failed == 0 and n.held == 0
    assert [m.text for m in fakebot.sent_messages(NEW)] == ["Рада: засідання о 10:00."]
    row = await store.alerts.get(alert)
    assert row is not None and row.status == "sent" and row.person_id == group
    person = await store.people.get(group)
    assert person is not None and person.user_id == NEW and person.active
