"""A local MTProto server for tests: Telethon's real client talks to it over TCP.

It speaks the parts of MTProto 2.0 a logged-in client uses (TCP "full" transport, encrypted
messages under an auth key both sides already hold, containers, gzip, acks, pings, RPC results
and errors, pushed updates) with Telethon's own crypto and TL code, and answers requests with a
`FakeTelegram`. No auth key exchange: the session is created with the key, as after a login.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import struct
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zlib import crc32

from telethon import errors, functions, types
from telethon.crypto import AES, AuthKey
from telethon.extensions import BinaryReader
from telethon.network.mtprotostate import MTProtoState
from telethon.tl.core import GzipPacked, MessageContainer

_RPC_RESULT = 0xF35C6D01
_VECTOR = 0x1CB5C415
_WRAPPERS = (
    functions.InvokeWithLayerRequest,
    functions.InitConnectionRequest,
    functions.InvokeWithoutUpdatesRequest,
    functions.InvokeAfterMsgRequest,
)


def error_for(exc: errors.RPCError) -> types.RpcError:
    """The RpcError Telegram would send for a Telethon exception (the inverse of
    telethon.errors.rpc_message_to_error)."""
    for name, cls in errors.rpc_errors_dict.items():
        if type(exc) is cls:
            return types.RpcError(error_code=cls.code or 400, error_message=name)
    for pattern, cls in errors.rpc_errors_re:
        if type(exc) is cls:
            value = next(
                (v for k, v in vars(exc).items() if isinstance(v, int) and k != "code"), 0
            )
            name = pattern.replace(r"(\d+)", str(value))
            return types.RpcError(error_code=cls.code or 400, error_message=name)
    return types.RpcError(error_code=exc.code or 400, error_message=str(exc.message))


def serialize(result: Any) -> bytes:
    if isinstance(result, bool):
        return struct.pack("<I", 0x997275B5 if result else 0xBC799737)
    if isinstance(result, list):
        return struct.pack("<Ii", _VECTOR, len(result)) + b"".join(serialize(r) for r in result)
    return bytes(result)


def config() -> types.Config:
    now = datetime.now(UTC)
    return types.Config(
        date=now,
        expires=now,
        test_mode=True,
        this_dc=2,
        dc_options=[],
        dc_txt_domain_name="",
        chat_size_max=200,
        megagroup_size_max=200000,
        forwarded_count_max=100,
        online_update_period_ms=120000,
        offline_blur_timeout_ms=5000,
        offline_idle_timeout_ms=30000,
        online_cloud_timeout_ms=300000,
        notify_cloud_delay_ms=30000,
        notify_default_delay_ms=1500,
        push_chat_period_ms=60000,
        push_chat_limit=2,
        edit_time_limit=172800,
        revoke_time_limit=172800,
        revoke_pm_time_limit=172800,
        rating_e_decay=2419200,
        stickers_recent_limit=200,
        channels_read_media_period=604800,
        call_receive_timeout_ms=20000,
        call_ring_timeout_ms=90000,
        call_connect_timeout_ms=30000,
        call_packet_timeout_ms=10000,
        me_url_prefix="",
        caption_length_max=1024,
        message_length_max=4096,
        webfile_dc_id=2,
    )


class _Session:
    """One client connection: its transport counters and MTProto session."""

    def __init__(self, server: MTProtoServer, reader: Any, writer: Any) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.session_id: int | None = None
        self.salt = 0
        self.send_counter = 0
        self.seq = 0
        self.last_msg_id = 0

    # -- transport (TCP full) -------------------------------------------------------------

    async def read_packet(self) -> bytes:
        head = await self.reader.readexactly(8)
        length, _seq = struct.unpack("<ii", head)
        body = await self.reader.readexactly(length - 8)
        if struct.unpack("<I", body[-4:])[0] != crc32(head + body[:-4]):
            raise ConnectionError("bad checksum")
        return body[:-4]

    def write_packet(self, data: bytes) -> None:
        packet = struct.pack("<ii", len(data) + 12, self.send_counter) + data
        self.send_counter += 1
        self.writer.write(packet + struct.pack("<I", crc32(packet)))

    # -- encryption ------------------------------------------------------------------------

    def decrypt(self, packet: bytes) -> tuple[int, bytes]:
        key = self.server.auth_key
        if struct.unpack("<Q", packet[:8])[0] != key.key_id:
            raise ConnectionError("unknown auth key")
        msg_key = packet[8:24]
        aes_key, aes_iv = MTProtoState._calc_key(key.key, msg_key, True)
        plain = AES.decrypt_ige(packet[24:], aes_key, aes_iv)
        if hashlib.sha256(key.key[88:120] + plain).digest()[8:24] != msg_key:
            raise ConnectionError("bad msg_key")
        self.salt, self.session_id = struct.unpack("<qq", plain[:16])
        msg_id, _seq, length = struct.unpack("<qii", plain[16:32])
        return msg_id, plain[32 : 32 + length]

    def _msg_id(self) -> int:
        now = time.time()
        msg_id = (int(now) << 32) | (int((now % 1) * 2**30) << 2) | 1
        if msg_id <= self.last_msg_id:
            msg_id = self.last_msg_id + 4
        self.last_msg_id = msg_id
        return msg_id

    def send(self, body: bytes, *, content: bool = True) -> None:
        assert self.session_id is not None
        seq = self.seq * 2 + 1 if content else self.seq * 2
        if content:
            self.seq += 1
        data = struct.pack("<qqqii", self.salt, self.session_id, self._msg_id(), seq, len(body))
        data += body
        data += os.urandom(-(len(data) + 12) % 16 + 12)
        key = self.server.auth_key.key
        msg_key = hashlib.sha256(key[96:128] + data).digest()[8:24]
        aes_key, aes_iv = MTProtoState._calc_key(key, msg_key, False)
        self.write_packet(
            struct.pack("<Q", self.server.auth_key.key_id)
            + msg_key
            + AES.encrypt_ige(data, aes_key, aes_iv)
        )

    # -- messages ------------------------------------------------------------------------

    def handle(self, msg_id: int, body: bytes) -> None:
        obj = BinaryReader(body).tgread_object()
        self.handle_object(msg_id, obj)

    def handle_object(self, msg_id: int, obj: Any) -> None:
        if isinstance(obj, MessageContainer):
            for message in obj.messages:
                self.handle_object(message.msg_id, message.obj)
            return
        if isinstance(obj, GzipPacked):
            self.handle_object(msg_id, BinaryReader(obj.data).tgread_object())
            return
        if isinstance(obj, types.MsgsAck):
            return
        if isinstance(obj, functions.PingRequest | functions.PingDelayDisconnectRequest):
            self.send(bytes(types.Pong(msg_id=msg_id, ping_id=obj.ping_id)), content=False)
            return
        self.server.requests.append(obj)
        query = obj
        while isinstance(query, _WRAPPERS):
            query = query.query
        try:
            if isinstance(query, functions.help.GetConfigRequest):
                result: Any = config()
            else:
                result = self.server.answer(query)
        except errors.RPCError as exc:
            payload = bytes(error_for(exc))
        except ConnectionError:
            self.writer.transport.abort()
            return
        except LookupError as exc:
            # A request the fake cannot answer: the test sees it in `unanswered`.
            self.server.unanswered.append(query)
            payload = bytes(types.RpcError(error_code=400, error_message=f"FAKE_{exc}"[:60]))
        else:
            payload = serialize(result)
        self.send(struct.pack("<Iq", _RPC_RESULT, msg_id) + payload)


class MTProtoServer:
    """A TCP server on 127.0.0.1 that Telethon's client connects to (dc 2)."""

    def __init__(self, answer: Callable[[Any], Any], *, auth_key: bytes | None = None) -> None:
        self.answer = answer
        self.auth_key = AuthKey(auth_key or os.urandom(256))
        self.requests: list[Any] = []
        self.unanswered: list[Any] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._sessions: set[_Session] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def connections(self) -> int:
        return len(self._sessions)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """The network goes away: close every connection and refuse new ones."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for session in list(self._sessions):
            session.writer.transport.abort()

    async def restore(self) -> None:
        await self.start()

    async def stop(self) -> None:
        await self.cut()
        for task in list(self._tasks):
            task.cancel()

    def push(self, update: Any) -> int:
        """Send an update (Updates, UpdateShort...) to every live session; returns how many."""
        sent = 0
        for session in list(self._sessions):
            if session.session_id is not None and not session.writer.is_closing():
                session.send(bytes(update))
                sent += 1
        return sent

    async def _serve(self, reader: Any, writer: Any) -> None:
        session = _Session(self, reader, writer)
        self._sessions.add(session)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            while True:
                packet = await session.read_packet()
                msg_id, body = session.decrypt(packet)
                session.handle(msg_id, body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            self._sessions.discard(session)
            if task is not None:
                self._tasks.discard(task)
            writer.close()
