"""Following channels with the listener account: resolving, joining, the peer cache, and the
channels the service assigns to this account (`reassign`: several accounts share them out).

A channel's access hash belongs to the account that resolved it, so the cache is kept per
account (storage: source_peers). A new account resolves and joins every channel again; a hash
Telegram refuses (CHANNEL_INVALID, PEER_ID_INVALID: a restored database, another account's
hash) is resolved again once per run.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from telethon import TelegramClient, errors, functions, types

from sources.telegram.client import error_name
from sources.telegram.config import TelegramSettings
from sources.telegram.errors import (
    ChannelError,
    ChannelLimitError,
    FloodWaitTooLong,
    ListenerStopped,
    TelegramError,
)
from storage.models import Source
from storage.records import FORMER_NAME, normalize_username, note_of, note_text, person_note
from storage.store import Store

log = logging.getLogger(__name__)

T = TypeVar("T")


def _log_failure(task: asyncio.Task[Any]) -> None:
    if task.cancelled() or isinstance(task.exception(), ListenerStopped):
        return
    if task.exception() is not None:
        log.error("catching up newly assigned channels failed", exc_info=task.exception())


# Errors that say the cached access hash is not this account's: resolve the channel again.
_STALE_PEER = (errors.ChannelInvalidError, errors.PeerIdInvalidError)


def channel_names(channel: Any) -> set[str]:
    """Every username the channel answers to now: its own and its active collectible ones."""
    names = {u.username.lower() for u in getattr(channel, "usernames", None) or [] if u.active}
    if getattr(channel, "username", None):
        names.add(channel.username.lower())
    return names


class Channels(ABC):
    """The followed channels of the `Listener`, which owns the client, the request gate and
    the catch-up (the abstract methods below)."""

    client: TelegramClient
    store: Store
    settings: TelegramSettings
    account: int | None
    _by_peer: dict[int, Source]
    _peers: dict[int, Any]
    _seen: dict[int, int]
    _reresolved: set[int]
    state_key: str
    allowed: frozenset[int] | None
    on_inaccessible: Callable[[Source, str], Awaitable[None]] | None
    on_renamed: Callable[[Source, str, bool], Awaitable[None]] | None
    name: str
    _started: bool
    _adopting: asyncio.Task[None] | None

    @abstractmethod
    async def _request(self, what: str, call: Callable[[], Awaitable[T]]) -> T: ...

    @abstractmethod
    async def catch_up(self, source: Source, *, before: int = 0) -> int: ...

    @abstractmethod
    async def _error(self, message: str) -> None: ...

    @abstractmethod
    def _lock(self, source_id: int) -> asyncio.Lock: ...

    @abstractmethod
    async def _failed(self, src: Source, what: str, exc: BaseException) -> None: ...

    async def reassign(self, ids: Iterable[int] | None) -> None:
        """Read only these channels (source ids; None: every active one) from now on.

        Returns once every channel left out is let go: no post of it is handed over after
        that, so another account may take it. Channels new to the set are resolved and caught
        up in the background (once the listener has started).
        """
        self.allowed = None if ids is None else frozenset(ids)
        for src in list(self._by_peer.values()):
            if not self._may_read(src.id):
                async with self._lock(src.id):  # a catch-up or live post in hand finishes first
                    self._untrack(src)
                log.info("@%s: no longer read by account %s", src.username, self.name)
        if not self._started or (self._adopting is not None and not self._adopting.done()):
            return
        if self.allowed is not None and self.allowed <= set(self._peers):
            return
        task = asyncio.get_running_loop().create_task(self._adopt())
        task.add_done_callback(_log_failure)
        self._adopting = task

    async def _adopt(self) -> None:
        known = set(self._peers)
        for src in await self.refresh_sources():
            if src.id in known:
                continue
            try:
                await self.catch_up(src)
            except (TelegramError, ConnectionError, errors.RPCError) as exc:
                await self._failed(src, "catch-up", exc)
                if isinstance(exc, FloodWaitTooLong):
                    break

    def _may_read(self, source_id: int) -> bool:
        return self.allowed is None or source_id in self.allowed

    def _track(self, src: Source, peer: Any) -> None:
        assert src.peer_id is not None
        self._by_peer[src.peer_id] = src
        self._peers[src.id] = peer

    def _untrack(self, src: Source) -> None:
        if src.peer_id is not None:
            self._by_peer.pop(src.peer_id, None)
        self._peers.pop(src.id, None)
        self._seen.pop(src.id, None)

    async def _account(self) -> int:
        """The listener account's user id, asked of Telegram once per run.

        Access hashes belong to an account, so the peer cache is kept per account. The first
        start after peers were cached without one (an upgraded database) claims them; a wrong
        guess costs one CHANNEL_INVALID and a re-resolve.
        """
        if self.account is not None:
            return self.account
        me = await self._request("get_me", lambda: self.client.get_me(input_peer=True))
        if me is None:
            raise TelegramError("the Telegram session is not logged in: run `wirewatch login`")
        account = int(me.user_id)
        previous = await self.store.state.get(f"{self.state_key}.account")
        if previous is None:
            await self.store.sources.claim_unowned_hashes(account)
        elif previous[0] != str(account):
            log.warning(
                "the listener account changed (%s -> %s): channels are resolved and joined "
                "again with this account",
                previous[0],
                account,
            )
        await self.store.state.set(f"{self.state_key}.account", str(account))
        self.account = account
        return account

    async def _input_peer(self, src: Source) -> Any:
        """The channel's input peer: from this account's cache, else resolved (and joined)."""
        peer = self._peers.get(src.id)
        if peer is not None:
            return peer
        account = await self._account()
        if src.peer_id is not None:
            access_hash = await self.store.sources.account_hash(src.id, account)
            if access_hash is not None:
                peer = types.InputPeerChannel(src.peer_id, access_hash)
                self._track(src, peer)
                return peer
        return (await self._resolve_and_join(src.username))[1]

    async def _peer_request(
        self, src: Source, what: str, call: Callable[[Any], Awaitable[T]]
    ) -> T:
        """A request about one channel. When Telegram says the cached peer is not valid (an
        access hash of another account, a restored database), the channel is resolved and
        joined again, once per run, and the request repeated."""
        peer = await self._input_peer(src)
        try:
            return await self._request(what, lambda: call(peer))
        except _STALE_PEER as exc:
            if src.id in self._reresolved:
                raise
            self._reresolved.add(src.id)
            log.warning(
                "@%s: Telegram said %s for the cached peer; resolving it again",
                src.username,
                error_name(exc),
            )
            self._peers.pop(src.id, None)
            await self.store.sources.forget_account_hash(src.id, await self._account())
            _, peer = await self._resolve_and_join(src.username)
            return await self._request(what, lambda: call(peer))

    async def _resolve_and_join(self, username: str) -> tuple[Source, Any]:
        """Resolve a username (one request), join the channel if needed, cache the peer."""
        try:
            resolved = await self._request(
                f"resolve @{username}",
                lambda: self.client(functions.contacts.ResolveUsernameRequest(username=username)),
            )
        except (errors.UsernameNotOccupiedError, errors.UsernameInvalidError) as exc:
            raise ChannelError(
                "@{channel}: no such channel on Telegram (missing, or renamed: check the "
                "channel's current link)",
                channel=username,
            ) from exc
        except errors.ChannelPrivateError as exc:
            raise ChannelError(
                "@{channel}: the channel is private or we are banned", channel=username
            ) from exc
        peer = resolved.peer
        if not isinstance(peer, types.PeerChannel):
            if isinstance(peer, types.PeerUser):
                raise ChannelError("@{channel} is a user, not a channel", channel=username)
            raise ChannelError("@{channel} is a group, not a channel", channel=username)
        channel = next((c for c in resolved.chats if c.id == peer.channel_id), None)
        if not isinstance(channel, types.Channel) or channel.access_hash is None:
            raise ChannelError(
                "@{channel}: the channel is private or unavailable", channel=username
            )
        known = await self.store.sources.by_username(username)
        was = known.peer_id if known is not None else None
        if was is None:
            former = await self.store.state.get(f"{FORMER_NAME}{username}")
            was = int(former[0]) if former is not None else None
        if was is not None and was != channel.id:
            # The channel followed under this name gave it up (renamed, deleted) and the name
            # now opens another one: following that would store a stranger's posts, alerts
            # included, under the official's name, and take its ids for the official's.
            raise ChannelError(
                "@{channel} now opens another channel than the one followed under that name "
                "(renamed or deleted?); follow the channel by its new name",
                channel=username,
            )
        other = await self.store.sources.by_peer(channel.id)
        if other is not None and other.username != username:
            if other.username in channel_names(channel) or known is not None:
                raise ChannelError(
                    "@{channel} is the channel already followed as @{other} (renamed?); "
                    "unfollow @{other} first",
                    channel=username,
                    other=other.username,
                )
            # The channel was renamed on Telegram since it was followed: same channel, its
            # archive and rules go on under the new name.
            await self._take_new_name(other, username)
        if channel.left:
            await self._join(username, channel)
        src = await self.store.sources.ensure(username, title=channel.title)
        await self.store.sources.set_peer(src.id, channel.id, channel.access_hash, channel.title)
        await self.store.sources.set_account_hash(
            src.id, await self._account(), channel.access_hash
        )
        fresh = await self.store.sources.get(src.id)
        assert fresh is not None
        peer_in = types.InputPeerChannel(channel.id, channel.access_hash)
        if fresh.active:
            self._track(fresh, peer_in)
        return fresh, peer_in

    async def _take_new_name(self, src: Source, new: str) -> Source:
        """The channel of `src` is called `new` on Telegram now: the source takes that name
        (permalinks must use it; the old one is free for anyone to take) and the old name is
        remembered as this channel's, so whoever takes it is never followed in its place.
        Returns the source as it is now."""
        followed = await self.store.sources.rename(src.id, new)
        if followed:
            if src.peer_id is not None:
                await self.store.state.set(f"{FORMER_NAME}{src.username}", str(src.peer_id))
            message = person_note(
                "@{old} was renamed to @{new} on Telegram; it is followed under the new name "
                "(a sources file that lists @{old} needs the new name too)",
                old=src.username,
                new=new,
            )
        else:
            message = person_note(
                "@{old} was renamed to @{new} on Telegram; its posts are still followed, but "
                "links use the old name until the source is renamed",
                old=src.username,
                new=new,
            )
        if src.error != message:
            log.warning("%s", note_text(message))
            await self.store.sources.set_error(src.id, message)
        if self.on_renamed is not None:
            try:
                await self.on_renamed(src, new, followed)
            except Exception:  # the rename holds; /status shows the note all the same
                log.exception("telling the desk that @%s is @%s now failed", src.username, new)
        fresh = await self.store.sources.get(src.id) or src
        if fresh.peer_id is not None and fresh.peer_id in self._by_peer:
            self._by_peer[fresh.peer_id] = fresh  # live posts carry the new name from now on
        return fresh

    async def _join(self, username: str, channel: Any) -> None:
        try:
            await self._request(
                f"join @{username}",
                lambda: self.client(
                    functions.channels.JoinChannelRequest(
                        types.InputChannel(channel.id, channel.access_hash)
                    )
                ),
            )
        except errors.ChannelsTooMuchError as exc:
            raise ChannelLimitError(
                "this Telegram account has joined as many channels as Telegram allows (500, "
                "1000 with Premium); leave some or use a second listener account"
            ) from exc
        except errors.InviteRequestSentError as exc:
            raise ChannelError(
                "@{channel}: joining needs an admin's approval", channel=username
            ) from exc
        except errors.ChannelPrivateError as exc:
            raise ChannelError(
                "@{channel}: the channel is private or we are banned", channel=username
            ) from exc
        log.info("joined @%s", username)

    async def follow(self, username_or_link: str) -> Source:
        """Follow a public channel now: resolve once, join if needed, catch up its recent posts.

        Raises ChannelError (and ChannelLimitError) with a message for the editor.
        """
        username = normalize_username(username_or_link)
        existing = await self.store.sources.by_username(username)
        if self.allowed is not None:
            # Channels are shared out among accounts: register it; the account it is given
            # to resolves, joins and catches it up.
            known = existing or await self.store.sources.ensure(username)
            if not known.active:
                await self.store.sources.set_active(known.id, True)
            out = await self.store.sources.get(known.id)
            assert out is not None
            return out
        # Only channels actually joined count: a name that never resolved takes no slot.
        followed = {
            s.id for s in await self.store.sources.list(active_only=True) if s.peer_id
        } | set(self._peers)
        if (existing is None or existing.id not in followed) and (
            len(followed) >= self.settings.max_channels
        ):
            raise ChannelLimitError(
                "already following {n} channels, the most this account may "
                "(telegram.max_channels = {limit}); unfollow one first",
                n=len(followed),
                limit=self.settings.max_channels,
            )
        if existing is not None and not existing.active:
            await self.store.sources.set_active(existing.id, True)
        try:
            if existing is not None and existing.peer_id:
                src = await self.store.sources.get(existing.id)
                assert src is not None
                await self._input_peer(src)
            else:
                src, _ = await self._resolve_and_join(username)
        except ChannelError as exc:
            # A name that does not work is not registered; a known source shows the error.
            if existing is not None:
                await self.store.sources.set_error(existing.id, note_of(exc))
            raise
        await self.catch_up(src)
        out = await self.store.sources.get(src.id)
        assert out is not None
        return out

    async def unfollow(self, username: str, *, leave: bool = False) -> Source:
        """Stop following a channel (kept in the database for search); `leave` also leaves it,
        freeing one of the account's 500 channel slots."""
        name = normalize_username(username)
        src = await self.store.sources.by_username(name)
        if src is None:
            raise ChannelError("@{channel} is not a followed channel", channel=name)
        await self.store.sources.set_active(src.id, False)
        self._untrack(src)
        access_hash = (
            await self.store.sources.account_hash(src.id, await self._account())
            if leave and src.peer_id is not None
            else None
        )
        if src.peer_id is not None and access_hash is not None:
            channel = types.InputChannel(src.peer_id, access_hash)
            await self._request(
                f"leave @{name}",
                lambda: self.client(functions.channels.LeaveChannelRequest(channel)),
            )
        out = await self.store.sources.get(src.id)
        assert out is not None
        return out

    async def refresh_sources(self) -> list[Source]:
        """Pick up sources added or removed in the database (sources file, CLI, bot commands).

        A source whose username failed to resolve keeps its error and is not retried here: an
        editor's `follow` retries it. That keeps us from re-resolving a bad name every cycle.
        """
        active = [
            s
            for s in await self.store.sources.list(active_only=True)
            if self.allowed is None or s.id in self.allowed
        ]
        ids = {s.id for s in active}
        for gone in [s for s in self._by_peer.values() if s.id not in ids]:
            self._untrack(gone)
        ready: list[Source] = []
        blocked = False  # a long FloodWait: resolve nothing more this round
        for src in active:
            if src.id in self._peers:
                self._by_peer[src.peer_id or 0] = src  # fresher attribution and marks
                ready.append(src)
                continue
            if (src.peer_id is None or src.access_hash is None) and (src.error or blocked):
                continue
            if len(self._peers) >= self.settings.max_channels:
                message = person_note(
                    "@{channel}: not followed, the account already follows {n} channels "
                    "(telegram.max_channels)",
                    channel=src.username,
                    n=len(self._peers),
                )
                await self.store.sources.set_error(src.id, message)
                log.error("%s", note_text(message))
                continue
            try:
                await self._input_peer(src)
            except ChannelError as exc:
                await self.store.sources.set_error(src.id, note_of(exc))
                log.error("%s", exc)
                if self.on_inaccessible is not None:
                    await self.on_inaccessible(src, str(exc))  # for the log: English
                continue
            except FloodWaitTooLong as exc:
                await self._error(note_of(exc))
                blocked = True
                continue
            except (TelegramError, ConnectionError, errors.RPCError) as exc:
                await self._failed(src, "resolve", exc)
                continue
            fresh = await self.store.sources.get(src.id)
            assert fresh is not None
            ready.append(fresh)
        return ready
