"""The Telethon client for the listener account."""

from __future__ import annotations

from telethon import TelegramClient
from telethon.sessions import SQLiteSession

from sources.telegram.config import TelegramSettings
from sources.telegram.errors import TelegramError
from sources.telegram.session import lock_session, prepare_session_file, session_path


def make_client(settings: TelegramSettings) -> TelegramClient:
    """The account's client on its SQLite session (mode 0600), locked to this process."""
    if settings.api_id is None or settings.api_hash is None:
        raise TelegramError(
            "Telegram API credentials missing: set WIREWATCH_TELEGRAM__API_ID and "
            "WIREWATCH_TELEGRAM__API_HASH (from https://my.telegram.org, 'API development tools')"
        )
    path = session_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_session(path)
    prepare_session_file(path)
    return TelegramClient(
        SQLiteSession(str(path)),
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
