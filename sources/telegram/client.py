"""The Telethon client for the listener account, the server it talks to, and what it says.

Telethon 1.x is pinned (1.45.0): `link_up` reads the sender's transport state, which Telethon
does not expose otherwise; `error_name` recovers the RPC error's own name, which Telethon's
generated exception classes replace with their base class's (BAD_REQUEST).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from telethon import TelegramClient, errors
from telethon.crypto import rsa
from telethon.sessions import SQLiteSession

from sources.telegram.config import TelegramSettings
from sources.telegram.errors import TelegramError
from sources.telegram.session import lock_session, prepare_session_file, session_path

# Telegram's test data centres (https://core.telegram.org/api/datacenter), by DC number.
TEST_DCS = {1: "149.154.175.10", 2: "149.154.167.40", 3: "149.154.175.117"}

_NAMES: dict[type, str] = {cls: name for name, cls in errors.rpc_errors_dict.items()}
_PATTERNS: dict[type, str] = {cls: pattern for pattern, cls in errors.rpc_errors_re}


def describe(exc: BaseException) -> str:
    """An unexpected failure as /status shows it: the kind of error and what it says."""
    return f"{type(exc).__name__}: {exc}"


def error_name(exc: BaseException) -> str:
    """Telegram's name for an RPC error (PHONE_NUMBER_INVALID, FLOOD_WAIT_30, ...); for other
    exceptions, the exception's own text."""
    if not isinstance(exc, errors.RPCError):
        return str(exc) or type(exc).__name__
    name = _NAMES.get(type(exc))
    if name is not None:
        return name
    pattern = _PATTERNS.get(type(exc))
    if pattern is not None:
        # The captured number is the exception's one int attribute (seconds, new_dc, ...).
        values = [v for k, v in vars(exc).items() if isinstance(v, int) and k != "code"]
        return pattern.replace(r"(\d+)", str(values[0]) if values else "X")
    # Errors Telethon does not know keep Telegram's message as they came.
    return str(exc.message)


def link_up(client: Any) -> bool:
    """Whether the client's connection to the server is up now. `is_connected()` only says
    the client was asked to connect: it stays True while Telethon retries a lost connection."""
    if not client.is_connected():
        return False
    transport = getattr(getattr(client, "_sender", None), "_transport_connected", None)
    return bool(transport()) if callable(transport) else True


def server_address(settings: TelegramSettings) -> tuple[int, str, int] | None:
    """(DC number, address, port) of the server the settings name; None for Telegram's
    production servers, which Telethon picks itself."""
    if settings.dc_address:
        return settings.dc_id, settings.dc_address, settings.dc_port
    if settings.test_servers:
        address = TEST_DCS.get(settings.dc_id)
        if address is None:
            raise TelegramError(
                f"telegram.dc_id {settings.dc_id}: Telegram's test servers are DCs "
                f"{', '.join(map(str, sorted(TEST_DCS)))}"
            )
        return settings.dc_id, address, settings.dc_port
    return None


def add_server_key(key: str) -> int:
    """Register the server's RSA public key (PEM text or a file holding it) with Telethon, for
    the auth key exchange with that server. Returns the key's fingerprint."""
    text = key
    if "-----BEGIN" not in key:
        try:
            text = Path(key).expanduser().read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise TelegramError(
                f"telegram.server_key: neither a PEM public key nor a readable file ({exc})"
            ) from exc
    try:
        public = rsa.rsa.PublicKey.load_pkcs1(text.encode("ascii"))
    except Exception as exc:  # rsa and pyasn1 raise several kinds for a malformed key
        raise TelegramError(
            "telegram.server_key: not an RSA public key in PEM form "
            f"('-----BEGIN RSA PUBLIC KEY-----' ...): {exc}"
        ) from exc
    fingerprint = rsa._compute_fingerprint(public)
    rsa.add_key(text, old=False)
    return int(fingerprint)


def make_client(settings: TelegramSettings) -> TelegramClient:
    """The account's client on its SQLite session (mode 0600), locked to this process."""
    if settings.api_id is None or settings.api_hash is None:
        raise TelegramError(
            "Telegram API credentials missing: set WIREWATCH_TELEGRAM__API_ID and "
            "WIREWATCH_TELEGRAM__API_HASH (from https://my.telegram.org, 'API development tools')"
        )
    where = server_address(settings)
    if settings.server_key:
        add_server_key(settings.server_key)
    path = session_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_session(path)
    prepare_session_file(path)
    session = SQLiteSession(str(path))
    if where is not None and (session.dc_id, session.server_address, session.port) != where:
        # Telethon keeps whatever server the session names; the setting wins.
        session.set_dc(*where)
        session.save()
    return TelegramClient(
        session,
        settings.api_id,
        settings.api_hash.get_secret_value(),
        # Every FloodWait reaches our gate, which bounds, logs and reports it.
        flood_sleep_threshold=0,
        connection_retries=10,
        retry_delay=5,
        auto_reconnect=True,
        request_retries=3,
        device_model="wirewatch",
        app_version="wirewatch",
    )
