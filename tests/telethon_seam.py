"""The one test helper that knows Telethon's internals (pinned: telethon==1.45.0).

`FakeTelegram` plays Telegram's side of the account: channels, their message history, and the
answers to the requests the listener makes (messages.getHistory, contacts.resolveUsername,
channels.joinChannel, ...), as real TL objects, so Telethon's own request iterators and message
parsing run. `SeamClient` is a real `TelegramClient` on a `MemorySession` whose request method
(`_call`) asks the fake instead of the network, and whose connection is a flag. Live updates go
through the client's own dispatch (`_dispatch_update`), so Telethon's event builders
(NewMessage, MessageEdited, MessageDeleted) build the events our handlers receive.

Nothing here opens a socket.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import telethon
from telethon import TelegramClient, errors, functions, types, utils
from telethon.sessions import MemorySession

assert telethon.__version__ == "1.45.0", "the seam pins Telethon's internals; re-check them"

ME_ID = 777000111
SEAM_DC = 2  # the data centre of the client's session and of the photos it downloads
BASE_DATE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def access_hash_for(channel_id: int, user_id: int) -> int:
    """A channel's access hash as one account sees it: each account has its own."""
    if user_id == ME_ID:
        return channel_id * 7 + 3
    return (channel_id * 1_000_003 + user_id) % (2**62)


@dataclass
class FakeChannel:
    entity: types.Channel
    messages: dict[int, types.Message | types.MessageService] = field(default_factory=dict)
    pts: int = 1
    members: set[int] = field(default_factory=set)  # accounts that joined it

    @property
    def id(self) -> int:
        return int(self.entity.id)

    @property
    def peer(self) -> types.PeerChannel:
        return types.PeerChannel(self.entity.id)


class FakeTelegram:
    """Telegram as the listener's account sees it. Requests are recorded in `requests`;
    `fail` queues exceptions (FloodWaitError, ConnectionError, ...) raised by the next requests."""

    def __init__(self) -> None:
        self.channels: dict[int, FakeChannel] = {}
        self.requests: list[Any] = []
        self.failures: list[Callable[[Any], BaseException | None]] = []
        self.connected = False
        self.joined: list[int] = []
        self.me = types.User(id=ME_ID, access_hash=4242, first_name="Listener", username="ww_ear")
        self.authorized = True
        self.login_code = "52719"
        self.code_sent_to: str | None = None
        # Photos by id: their bytes and the file reference that currently opens them.
        self.files: dict[int, tuple[bytes, bytes]] = {}
        self.translations: dict[tuple[str, str], str] = {}  # (text, to_lang) -> translation

    # -- the world -----------------------------------------------------------------------

    def add_channel(
        self, username: str | None, channel_id: int, title: str, *, left: bool = False
    ) -> FakeChannel:
        entity = types.Channel(
            id=channel_id,
            title=title,
            photo=types.ChatPhotoEmpty(),
            date=BASE_DATE - timedelta(days=400),
            broadcast=True,
            left=left,
            access_hash=access_hash_for(channel_id, self.me.id),
            username=username,
        )
        channel = FakeChannel(entity, members=set() if left else {self.me.id})
        self.channels[channel_id] = channel
        return channel

    def switch_account(self, user: types.User) -> None:
        """Another account is now logged in: its own access hashes, its own memberships."""
        self.me = user
        for channel in self.channels.values():
            channel.entity.access_hash = access_hash_for(channel.id, user.id)
            channel.entity.left = user.id not in channel.members

    def is_member(self, channel: FakeChannel) -> bool:
        """Whether the logged-in account joined the channel (only members get its updates)."""
        return self.me.id in channel.members

    def message(
        self,
        channel: FakeChannel,
        message_id: int,
        text: str = "",
        *,
        date: datetime | None = None,
        edit_date: datetime | None = None,
        media: Any = None,
        grouped_id: int | None = None,
        fwd_from: types.MessageFwdHeader | None = None,
        entities: list[Any] | None = None,
        reply_to: int | None = None,
    ) -> types.Message:
        """A channel post as Telegram sends it (not yet part of the history)."""
        return types.Message(
            id=message_id,
            peer_id=channel.peer,
            date=date or BASE_DATE + timedelta(minutes=message_id),
            message=text,
            post=True,
            edit_date=edit_date,
            media=media,
            grouped_id=grouped_id,
            fwd_from=fwd_from,
            entities=entities,
            reply_to=types.MessageReplyHeader(reply_to_msg_id=reply_to) if reply_to else None,
        )

    def post(self, channel: FakeChannel, message_id: int, text: str = "", **kw: Any) -> Any:
        msg = self.message(channel, message_id, text, **kw)
        channel.messages[message_id] = msg
        return msg

    def service(self, channel: FakeChannel, message_id: int) -> types.MessageService:
        msg = types.MessageService(
            id=message_id,
            peer_id=channel.peer,
            date=BASE_DATE + timedelta(minutes=message_id),
            action=types.MessageActionChatEditTitle(title=channel.entity.title),
            post=True,
        )
        channel.messages[message_id] = msg
        return msg

    def edit(
        self,
        channel: FakeChannel,
        message_id: int,
        text: str,
        *,
        media: Any = None,
        entities: list[Any] | None = None,
        later: timedelta = timedelta(minutes=30),
    ) -> types.Message:
        """The official edits the message: its text, and `media` or `entities` when given
        (else they stay); the edit is dated `later` after the post."""
        old = channel.messages[message_id]
        assert isinstance(old, types.Message)
        new = self.message(
            channel,
            message_id,
            text,
            date=old.date,
            edit_date=(old.date or BASE_DATE) + later,
            media=old.media if media is None else media,
            grouped_id=old.grouped_id,
            fwd_from=old.fwd_from,
            entities=old.entities if entities is None else entities,
        )
        channel.messages[message_id] = new
        return new

    def delete(self, channel: FakeChannel, *ids: int) -> None:
        for i in ids:
            channel.messages.pop(i, None)

    def photo(
        self, data: bytes, *, width: int = 800, height: int = 600
    ) -> types.MessageMediaPhoto:
        """A photo as a message carries it; its bytes answer upload.getFile."""
        photo_id = 5_000_000 + len(self.files)
        reference = b"ref-" + str(photo_id).encode()
        self.files[photo_id] = (data, reference)
        return types.MessageMediaPhoto(photo=self._photo(photo_id, width, height))

    def _photo(self, photo_id: int, width: int, height: int) -> types.Photo:
        data, reference = self.files[photo_id]
        return types.Photo(
            id=photo_id,
            access_hash=photo_id * 3 + 1,
            file_reference=reference,
            date=BASE_DATE,
            sizes=[types.PhotoSize(type="y", w=width, h=height, size=len(data))],
            dc_id=SEAM_DC,
        )

    def expire_reference(self, channel: FakeChannel, message_id: int) -> None:
        """Telegram renews the photo's file reference: the one the client holds no longer
        opens it, and the message fetched again carries the new one."""
        msg = channel.messages[message_id]
        assert isinstance(msg, types.Message) and isinstance(msg.media, types.MessageMediaPhoto)
        old = msg.media.photo
        data, reference = self.files[old.id]
        self.files[old.id] = (data, reference + b"+")
        size = old.sizes[0]
        renewed = self.message(
            channel,
            message_id,
            msg.message,
            date=msg.date,
            media=types.MessageMediaPhoto(photo=self._photo(old.id, size.w, size.h)),
        )
        channel.messages[message_id] = renewed

    def fail(self, exc_factory: Callable[[Any], BaseException | None]) -> None:
        """The next request gets this exception (the factory may return None to let it pass)."""
        self.failures.append(exc_factory)

    def flood(self, seconds: int) -> None:
        self.fail(lambda req: errors.FloodWaitError(request=req, capture=seconds))

    def drop_connection(self) -> None:
        def drop(_req: Any) -> BaseException:
            self.connected = False
            return ConnectionError("Cannot send requests while disconnected")

        self.fail(drop)

    # -- answering requests --------------------------------------------------------------

    def _channel_of(self, peer: Any) -> FakeChannel:
        cid = getattr(peer, "channel_id", None)
        if cid is None or cid not in self.channels:
            raise errors.ChannelInvalidError(request=None)
        channel = self.channels[cid]
        if getattr(peer, "access_hash", None) != channel.entity.access_hash:
            raise errors.ChannelInvalidError(request=None)
        return channel

    def answer(self, request: Any) -> Any:
        self.requests.append(request)
        if not self.connected:
            raise ConnectionError("Cannot send requests while disconnected")
        if self.failures:
            exc = self.failures.pop(0)(request)
            if exc is not None:
                raise exc
        if isinstance(request, functions.messages.GetHistoryRequest):
            return self._history(request)
        if isinstance(request, functions.channels.GetMessagesRequest):
            channel = self._channel_of(request.channel)
            wanted = [i if isinstance(i, int) else i.id for i in request.id]
            return types.messages.ChannelMessages(
                pts=channel.pts,
                count=len(channel.messages),
                messages=[channel.messages[i] for i in wanted if i in channel.messages],
                topics=[],
                chats=[channel.entity],
                users=[],
            )
        if isinstance(request, functions.upload.GetFileRequest):
            location = request.location
            if location.id not in self.files:
                raise errors.FileIdInvalidError(request=request)
            data, reference = self.files[location.id]
            if location.file_reference != reference:
                raise errors.FileReferenceExpiredError(request=request)
            chunk = data[request.offset : request.offset + request.limit]
            return types.upload.File(type=types.storage.FileJpeg(), mtime=0, bytes=chunk)
        if isinstance(request, functions.contacts.ResolveUsernameRequest):
            for ch in self.channels.values():
                if ch.entity.username and ch.entity.username.lower() == request.username.lower():
                    return types.contacts.ResolvedPeer(peer=ch.peer, chats=[ch.entity], users=[])
            if request.username.lower() == "some_person":
                user = types.User(
                    id=5550001, access_hash=1, first_name="Some", username="some_person"
                )
                return types.contacts.ResolvedPeer(
                    peer=types.PeerUser(user.id), chats=[], users=[user]
                )
            raise errors.UsernameNotOccupiedError(request=request)
        if isinstance(request, functions.channels.JoinChannelRequest):
            channel = self._channel_of(request.channel)
            channel.entity.left = False
            channel.members.add(self.me.id)
            self.joined.append(channel.id)
            return types.Updates(
                updates=[], users=[], chats=[channel.entity], date=BASE_DATE, seq=0
            )
        if isinstance(request, functions.channels.LeaveChannelRequest):
            channel = self._channel_of(request.channel)
            channel.entity.left = True
            channel.members.discard(self.me.id)
            return types.Updates(
                updates=[], users=[], chats=[channel.entity], date=BASE_DATE, seq=0
            )
        if isinstance(request, functions.users.GetUsersRequest):
            if not self.authorized:
                raise errors.AuthKeyUnregisteredError(request=request)
            return [self.me]
        if isinstance(request, functions.auth.SendCodeRequest):
            if len(request.phone_number.lstrip("+")) < 7:
                raise errors.PhoneNumberInvalidError(request=request)
            self.code_sent_to = request.phone_number
            return types.auth.SentCode(
                type=types.auth.SentCodeTypeApp(length=len(self.login_code)), phone_code_hash="h1"
            )
        if isinstance(request, functions.auth.SignInRequest):
            if request.phone_code != self.login_code:
                raise errors.PhoneCodeInvalidError(request=request)
            self.authorized = True
            return types.auth.Authorization(user=self.me)
        if isinstance(request, functions.messages.TranslateTextRequest):
            # Telegram's translateText: one TextWithEntities per text given, in order.
            return types.messages.TranslateResult(
                result=[
                    types.TextWithEntities(
                        text=self.translations.get(
                            (t.text, request.to_lang), f"[{request.to_lang}] {t.text}"
                        ),
                        entities=[],
                    )
                    for t in request.text or []
                ]
            )
        if isinstance(request, functions.updates.GetDifferenceRequest):
            return types.updates.DifferenceEmpty(date=BASE_DATE, seq=0)
        if isinstance(request, functions.updates.GetChannelDifferenceRequest):
            # Telethon asks after a pts gap; the listener's own catch-up fetches the posts.
            channel = self._channel_of(request.channel)
            return types.updates.ChannelDifferenceEmpty(pts=channel.pts, final=True)
        if isinstance(request, functions.updates.GetStateRequest):
            if not self.authorized:
                raise errors.AuthKeyUnregisteredError(request=request)
            return types.updates.State(pts=1, qts=0, date=BASE_DATE, seq=0, unread_count=0)
        raise LookupError(f"the fake does not answer {type(request).__name__}")

    def _updates(self, channel: FakeChannel) -> types.Updates:
        return types.Updates(updates=[], users=[], chats=[channel.entity], date=BASE_DATE, seq=0)

    def _history(self, req: functions.messages.GetHistoryRequest) -> Any:
        """messages.getHistory with Telegram's offset semantics: messages older than offset_id,
        newest first, shifted by add_offset (negative reaches newer ones), at most `limit`."""
        channel = self._channel_of(req.peer)
        ids = sorted(channel.messages, reverse=True)
        if req.max_id:
            ids = [i for i in ids if i < req.max_id]
        if req.min_id:
            ids = [i for i in ids if i > req.min_id]
        start = 0
        if req.offset_id:
            start = next((n for n, i in enumerate(ids) if i < req.offset_id), len(ids))
        start += req.add_offset
        end = start + req.limit
        picked = ids[max(start, 0) : max(end, 0)]
        return types.messages.ChannelMessages(
            pts=channel.pts,
            count=len(channel.messages),
            messages=[channel.messages[i] for i in picked],
            topics=[],
            chats=[c.entity for c in self.channels.values()],
            users=[],
        )

    # -- live updates --------------------------------------------------------------------

    def _with_entities(self, update: Any, channel: FakeChannel) -> Any:
        # Telethon's MessageBox attaches the update's entities before dispatch; we do it here.
        update._entities = {utils.get_peer_id(c.entity): c.entity for c in self.channels.values()}
        return update

    def new_update(self, channel: FakeChannel, message: Any) -> Any:
        channel.messages[message.id] = message
        channel.pts += 1
        return self._with_entities(
            types.UpdateNewChannelMessage(message=message, pts=channel.pts, pts_count=1), channel
        )

    def edit_update(self, channel: FakeChannel, message_id: int, text: str, **kw: Any) -> Any:
        message = self.edit(channel, message_id, text, **kw)
        return self.resend_update(channel, message)

    def resend_update(self, channel: FakeChannel, message: types.Message) -> Any:
        """Telegram sends the message again as an edit (after an edit, or a change of its
        reactions or views, which need not change its edit date)."""
        channel.messages[message.id] = message
        channel.pts += 1
        return self._with_entities(
            types.UpdateEditChannelMessage(message=message, pts=channel.pts, pts_count=1), channel
        )

    def channel_update(self, channel: FakeChannel) -> Any:
        """Telegram says the channel changed (its title, its @username, ...): updateChannel,
        with the channel as it is now among the update's entities."""
        return self._with_entities(types.UpdateChannel(channel_id=channel.id), channel)

    def delete_update(self, channel: FakeChannel, *ids: int) -> Any:
        self.delete(channel, *ids)
        channel.pts += len(ids)
        return self._with_entities(
            types.UpdateDeleteChannelMessages(
                channel_id=channel.id, messages=list(ids), pts=channel.pts, pts_count=len(ids)
            ),
            channel,
        )


class SeamClient(TelegramClient):  # type: ignore[misc]
    """A real TelegramClient whose requests are answered by a FakeTelegram."""

    def __init__(self, fake: FakeTelegram) -> None:
        super().__init__(
            MemorySession(), 1, "0" * 32, flood_sleep_threshold=0, receive_updates=False
        )
        self.fake = fake
        # Files live in our own data centre: Telethon downloads them over the main connection.
        self.session.set_dc(SEAM_DC, "127.0.0.1", 443)
        # The event builders need our own id offline; the real client learns it from get_me().
        self._mb_entity_cache.set_self_user(fake.me.id, False, fake.me.access_hash)
        self._lost: asyncio.Future[None] | None = None
        # The listener reads the transport's state, not only whether connecting was asked for.
        self._sender._transport_connected = lambda: self.fake.connected

    async def _call(  # Telethon's single request path (client/users.py)
        self, sender: Any, request: Any, ordered: bool = False, flood_sleep_threshold: Any = None
    ) -> Any:
        return self.fake.answer(request)

    def is_connected(self) -> bool:
        return self.fake.connected

    async def connect(self) -> None:
        self.fake.connected = True
        self._lost = asyncio.get_running_loop().create_future()

    async def disconnect(self) -> None:
        self.fake.connected = False
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(None)

    def lose_connection(self) -> None:
        """The network drops: what `client.disconnected` reports in production."""
        self.fake.connected = False
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(None)

    @property
    def disconnected(self) -> asyncio.Future[None]:
        if self._lost is None:
            self._lost = asyncio.get_running_loop().create_future()
        return self._lost

    async def dispatch(self, update: Any) -> None:
        """Deliver one update through Telethon's own event builders to our handlers."""
        await self._dispatch_update(update)


def unreachable_client(port: int, *, retries: int, delay: int = 60) -> TelegramClient:
    """A real TelegramClient, Telethon's own sender and connection included, whose data centre
    is a local port nobody listens on: every connection attempt is refused at once, and
    Telethon retries `retries` times, `delay` seconds apart, as it does when the network is
    down."""
    session = MemorySession()
    session.set_dc(SEAM_DC, "127.0.0.1", port)
    return TelegramClient(
        session,
        1,
        "0" * 32,
        connection_retries=retries,
        retry_delay=delay,
        receive_updates=False,
    )


def session_file(path: str, port: int) -> None:
    """A session file as `wirewatch login` leaves it (an authorisation key, its data centre),
    for a server at a local `port`."""
    import os

    from telethon.crypto import AuthKey
    from telethon.sessions import SQLiteSession

    session = SQLiteSession(path)
    session.set_dc(SEAM_DC, "127.0.0.1", port)
    session.auth_key = AuthKey(os.urandom(256))
    session.save()
    session.close()
    os.chmod(path, 0o600)
