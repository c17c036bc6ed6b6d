"""People who use the bot, their role and their alert preferences."""

from __future__ import annotations

import builtins
import json
from dataclasses import dataclass

from storage.db import Database, now
from storage.models import ROLES, Person

# The state key holding the group chats an admin registered (/deskchat on), a JSON list of ids.
DESK_CHATS_KEY = "desk_chats"


@dataclass(frozen=True, slots=True)
class ChatMerge:
    """What `PeopleRepo.merge_chat` did: the row of the old id, the row it went into, how
    many queued alerts moved and how many were dropped as the other row's twins."""

    from_person: int
    into_person: int
    moved: int
    dropped: int


_PREFS = {"lang", "tz", "quiet_from", "quiet_to", "digest_at", "paused", "reachable", "display"}


# (source id, now): active, unpaused people who have not muted the source.
RECIPIENTS = (
    "SELECT p.* FROM people p WHERE p.active = 1 AND p.paused = 0 AND NOT EXISTS ("
    " SELECT 1 FROM mutes m WHERE m.person_id = p.id AND m.source_id = ?"
    " AND (m.until IS NULL OR m.until > ?)) ORDER BY p.id"
)


class PeopleRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, person_id: int) -> Person | None:
        row = await self.db.fetchone("SELECT * FROM people WHERE id = ?", (person_id,))
        return Person.from_row(row) if row else None

    async def by_user_id(self, user_id: int) -> Person | None:
        row = await self.db.fetchone(
            "SELECT * FROM people WHERE user_id = ? AND active = 1", (user_id,)
        )
        return Person.from_row(row) if row else None

    async def by_username(self, username: str) -> Person | None:
        row = await self.db.fetchone(
            "SELECT * FROM people WHERE username = ? AND active = 1",
            (username.lstrip("@").lower(),),
        )
        return Person.from_row(row) if row else None

    async def list(self, *, active_only: bool = True) -> list[Person]:
        sql = "SELECT * FROM people" + (" WHERE active = 1" if active_only else "")
        return [Person.from_row(r) for r in await self.db.fetchall(sql + " ORDER BY id")]

    async def add(
        self,
        *,
        role: str,
        user_id: int | None = None,
        username: str | None = None,
        display: str | None = None,
        lang: str = "uk",
        tz: str = "Europe/Kyiv",
        added_by: int | None = None,
    ) -> Person:
        """Add a person or change the role of one already known (by user id or username)."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if user_id is None and not username:
            raise ValueError("a person needs a user id or a @username")
        uname = username.lstrip("@").lower() if username else None
        async with self.db.transaction() as conn:
            existing = None
            if user_id is not None:
                existing = await (
                    await conn.execute("SELECT id FROM people WHERE user_id = ?", (user_id,))
                ).fetchone()
            if existing is None and uname:
                existing = await (
                    await conn.execute("SELECT id FROM people WHERE username = ?", (uname,))
                ).fetchone()
            if existing is not None:
                pid = existing[0]
                await conn.execute(
                    "UPDATE people SET role = ?, active = 1, user_id = COALESCE(?, user_id),"
                    " username = COALESCE(?, username), display = COALESCE(?, display)"
                    " WHERE id = ?",
                    (role, user_id, uname, display, pid),
                )
            else:
                cur = await conn.execute(
                    "INSERT INTO people (user_id, username, display, role, lang, tz, added_at,"
                    " added_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (user_id, uname, display, role, lang, tz, now(), added_by),
                )
                pid = cur.lastrowid
        person = await self.get(int(pid))
        assert person is not None
        return person

    async def bind_user_id(self, person_id: int, user_id: int) -> None:
        """A person added by @username writes for the first time: remember their id."""
        await self.db.execute(
            "UPDATE people SET user_id = ? WHERE id = ? AND user_id IS NULL", (user_id, person_id)
        )

    async def move_chat(self, old: int, new: int) -> bool:
        """Telegram upgraded the group `old` to the supergroup `new` (a new chat id; the old one
        takes no more messages): whatever was stored under `old` follows it, in one
        transaction. A desk chat stays registered, a chat alerts go to keeps its row, mutes,
        rules and pending alerts; the messages it got stay in the old chat, so its alerts lose
        their message ids: an update replying to one goes unthreaded (the same id in the new
        chat is another message), and an alert sent half starts over. False when nothing was
        stored under `old` (the move was made already: Telegram tells of it more than once)."""
        moved = False
        async with self.db.transaction() as conn:
            row = await (
                await conn.execute("SELECT id FROM people WHERE user_id = ?", (old,))
            ).fetchone()
            taken = await (
                await conn.execute("SELECT id, active FROM people WHERE user_id = ?", (new,))
            ).fetchone()
            if row is not None and taken is not None and not taken[1] and taken[0] != row[0]:
                # The new id's row was removed (an admin undid adding the supergroup): it
                # gives the id up, or the group's alerts would be merged into a removed row
                # and held for good.
                await conn.execute("UPDATE people SET user_id = NULL WHERE id = ?", (taken[0],))
                taken = None
            if row is not None and taken is None:
                await conn.execute("UPDATE people SET user_id = ? WHERE id = ?", (new, row[0]))
                await conn.execute(
                    "UPDATE alerts SET tg_message_id = NULL, parts_sent = 0 WHERE person_id = ?"
                    " AND status IN ('pending', 'sent') AND tg_message_id IS NOT NULL",
                    (row[0],),
                )
                moved = True
            found = await (
                await conn.execute("SELECT value FROM state WHERE key = ?", (DESK_CHATS_KEY,))
            ).fetchone()
            chats = [int(c) for c in json.loads(found[0])] if found else []
            if old in chats:
                kept = sorted({new if c == old else c for c in chats})
                await conn.execute(
                    "UPDATE state SET value = ?, at = ? WHERE key = ?",
                    (json.dumps(kept), now(), DESK_CHATS_KEY),
                )
                moved = True
        return moved

    async def merge_chat(self, old: int, new: int) -> ChatMerge | None:
        """The group `old` became the supergroup `new`, which is another row's already (added
        by its new id before the bot learned of the upgrade): one chat with two rows. The old
        row's queued alerts (drafting, pending, held) join the new row's queue, but not those
        the new row has for the same post, kind and version (its follow-ups then reply to the
        new row's twin): so nothing waiting is lost and nothing reaches the chat twice. Its own
        rules go with them; its sent alerts keep their history but lose their message ids (an
        update replying to one goes unthreaded: those messages are in the old chat); the old
        row is deactivated. None when there is nothing to merge (no active row under `old`,
        none under `new`, or the merge was made already)."""
        async with self.db.transaction() as conn:
            row = await (
                await conn.execute(
                    "SELECT id FROM people WHERE user_id = ? AND active = 1", (old,)
                )
            ).fetchone()
            into = await (
                await conn.execute(
                    "SELECT id FROM people WHERE user_id = ? AND active = 1", (new,)
                )
            ).fetchone()
            if row is None or into is None or row[0] == into[0]:
                return None
            a, b = int(row[0]), int(into[0])
            found = await conn.execute(
                "SELECT x.id, y.id FROM alerts x JOIN alerts y ON y.person_id = ?"
                " AND y.post_id = x.post_id AND y.kind = x.kind AND y.version = x.version"
                " WHERE x.person_id = ? AND x.status IN ('drafting', 'pending', 'held')",
                (b, a),
            )
            twins = list(await found.fetchall())
            for dropped, kept in twins:
                await conn.execute(
                    "UPDATE alerts SET reply_to_alert = ? WHERE reply_to_alert = ?",
                    (kept, dropped),
                )
                await conn.execute("DELETE FROM alerts WHERE id = ?", (dropped,))
            cur = await conn.execute(
                "UPDATE alerts SET person_id = ?, tg_message_id = NULL, parts_sent = 0"
                " WHERE person_id = ? AND status IN ('drafting', 'pending', 'held')",
                (b, a),
            )
            moved = max(cur.rowcount, 0)
            await conn.execute(
                "UPDATE alerts SET tg_message_id = NULL WHERE person_id = ? AND status = 'sent'"
                " AND tg_message_id IS NOT NULL",
                (a,),
            )
            await conn.execute("UPDATE rules SET owner_id = ? WHERE owner_id = ?", (b, a))
            await conn.execute("UPDATE people SET active = 0 WHERE id = ?", (a,))
        return ChatMerge(from_person=a, into_person=b, moved=moved, dropped=len(twins))

    async def set_desk_chat(self, chat_id: int, on: bool) -> frozenset[int] | None:
        """Register (or drop) the group `chat_id` as a desk chat, reading the list in the same
        transaction that writes it: a list remembered from before would write back a chat's
        old id over the one `move_chat` gave it. The desk chats now, or None when nothing
        changed (it already was, or was not, one)."""
        async with self.db.transaction() as conn:
            found = await (
                await conn.execute("SELECT value FROM state WHERE key = ?", (DESK_CHATS_KEY,))
            ).fetchone()
            chats = {int(c) for c in json.loads(found[0])} if found else set()
            if (chat_id in chats) == on:
                return None
            chats = chats | {chat_id} if on else chats - {chat_id}
            await conn.execute(
                "INSERT INTO state (key, value, at) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value, at = excluded.at",
                (DESK_CHATS_KEY, json.dumps(sorted(chats)), now()),
            )
        return frozenset(chats)

    async def remove(self, person_id: int) -> None:
        # Deactivate rather than delete: their alerts and audit trail stay readable.
        await self.db.execute("UPDATE people SET active = 0 WHERE id = ?", (person_id,))

    async def set_pref(self, person_id: int, field: str, value: object) -> None:
        if field not in _PREFS:
            raise ValueError(f"unknown preference {field!r}")
        await self.db.execute(f"UPDATE people SET {field} = ? WHERE id = ?", (value, person_id))

    async def set_lang(self, person_id: int, lang: str, *, chosen: bool) -> None:
        """`chosen`: the person picked it (/lang); otherwise it follows their Telegram app."""
        await self.db.execute(
            "UPDATE people SET lang = ?, lang_chosen = ? WHERE id = ?",
            (lang, int(chosen), person_id),
        )

    async def mute(self, person_id: int, source_id: int, until: int | None) -> None:
        await self.db.execute(
            "INSERT INTO mutes (person_id, source_id, until) VALUES (?, ?, ?)"
            " ON CONFLICT (person_id, source_id) DO UPDATE SET until = excluded.until",
            (person_id, source_id, until),
        )

    async def unmute(self, person_id: int, source_id: int) -> None:
        await self.db.execute(
            "DELETE FROM mutes WHERE person_id = ? AND source_id = ?", (person_id, source_id)
        )

    async def muted_sources(self, person_id: int, at: int | None = None) -> dict[int, int | None]:
        at = now() if at is None else at
        rows = await self.db.fetchall(
            "SELECT source_id, until FROM mutes WHERE person_id = ?"
            " AND (until IS NULL OR until > ?)",
            (person_id, at),
        )
        return {r[0]: r[1] for r in rows}

    async def recipients(self, source_id: int, at: int | None = None) -> builtins.list[Person]:
        """Active, unpaused people who have not muted this source."""
        at = now() if at is None else at
        rows = await self.db.fetchall(RECIPIENTS, (source_id, at))
        return [Person.from_row(r) for r in rows]
