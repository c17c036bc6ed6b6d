"""`wirewatch login`: the interactive sign-in that creates the listener's session."""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable

from telethon import TelegramClient, errors

from sources.telegram.client import error_name, make_client
from sources.telegram.config import TelegramSettings
from sources.telegram.errors import TelegramError
from sources.telegram.session import session_path, unlock_session


async def login(
    client: TelegramClient,
    *,
    phone: str | None = None,
    prompt: Callable[[str], str] = input,
    secret: Callable[[str], str] = getpass.getpass,
    attempts: int = 3,
) -> str:
    """Interactive sign-in: phone, the code Telegram sends, the 2FA password if set.

    The code and the password are read with `secret` (no echo) and never logged. Returns a line
    naming the account.
    """
    try:
        await client.start(
            phone=lambda: phone or prompt("Phone number (international format, +380...): "),
            code_callback=lambda: secret("Login code from Telegram: "),
            password=lambda: secret("Two-step verification password: "),
            max_attempts=attempts,
        )
    except errors.RPCError as exc:
        # The RPC error names what was wrong (PHONE_CODE_INVALID, ...) without echoing input.
        raise TelegramError(f"Telegram refused the login: {error_name(exc)}") from exc
    me = await client.get_me()
    if me is None:
        raise TelegramError("login did not complete")
    name = f"@{me.username}" if me.username else (me.first_name or "account")
    return f"logged in as {name} (id {me.id})"


async def login_with_settings(
    settings: TelegramSettings,
    *,
    phone: str | None = None,
    prompt: Callable[[str], str] = input,
    secret: Callable[[str], str] = getpass.getpass,
    connecting: Callable[[], None] | None = None,
) -> str:
    """What `wirewatch login` runs: make the client, sign in, save and close the session.
    `connecting` is told once the session is ours, before the wait for Telegram."""
    client = make_client(settings)
    path = session_path(settings)
    if connecting is not None:
        connecting()
    try:
        return await login(client, phone=phone, prompt=prompt, secret=secret)
    finally:
        result = client.disconnect()
        if result is not None:
            await result
        os.chmod(path, 0o600)
        unlock_session(path)
