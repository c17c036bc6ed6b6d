"""`wirewatch login`: create the listener account's Telegram session, interactively.

This module does not import telethon: `sources.telegram` does the talking, and is imported only
when someone actually logs in, so other commands start without loading Telethon.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import Any

from bot.cli.common import UsageError, terminal_text
from bot.settings import Settings


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "login",
        parents=[parent],
        help="sign the listener's Telegram account in (once, interactively)",
        description=(
            "Sign in with the phone number, the login code Telegram sends to the app and, if "
            "set, the two-step verification password. Writes the session file "
            "(telegram.session, mode 0600). The code and password are never echoed or logged."
        ),
    )
    p.add_argument("--phone", metavar="+380...", help="phone number; asked when omitted")
    p.add_argument(
        "--account",
        metavar="NAME",
        default="default",
        help="which account to sign in (WIREWATCH_ACCOUNTS__NAME__*); default: the telegram "
        "section's",
    )
    p.set_defaults(func=cmd_login)


async def cmd_login(args: argparse.Namespace, settings: Settings) -> int:
    from sources.telegram.login import login_with_settings
    from sources.telegram.session import session_path

    name = getattr(args, "account", "default")
    try:
        tg = settings.account(name)
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from None
    if not tg.configured:
        where = (
            "WIREWATCH_TELEGRAM__API_ID and WIREWATCH_TELEGRAM__API_HASH"
            if name == "default"
            else f"WIREWATCH_ACCOUNTS__{name.upper()}__API_ID and __API_HASH"
        )
        raise UsageError(f"set {where} first (https://my.telegram.org -> API development tools)")
    server = f"{tg.dc_address}:{tg.dc_port}" if tg.dc_address else "Telegram's servers"
    quiet = not getattr(args, "verbose", False)
    telethon_log = logging.getLogger("telethon")
    level = telethon_log.level
    if quiet:
        # Telethon logs each failed attempt (ten, five seconds apart) and each hang-up in its
        # own words; the one line below says what failed and what to check (-v shows them).
        telethon_log.setLevel(logging.ERROR)

    def connecting() -> None:
        print(
            f"connecting to {server} (when they cannot be reached, wirewatch says so after 10 "
            "attempts, about a minute)",
            file=sys.stderr,
        )

    try:
        line = await login_with_settings(tg, phone=args.phone, connecting=connecting)
    except asyncio.IncompleteReadError:
        # An EOFError too, but from the network: something between here and Telegram (a
        # proxy, a captive portal, a firewall) answered and hung up.
        return _unreachable(f"{server} closed the connection before answering")
    except EOFError as exc:
        raise UsageError("login is interactive: run it in a terminal") from exc
    except ConnectionError as exc:
        # Telethon's own after its retries ("Connection to Telegram failed 10 time(s)").
        return _unreachable(f"cannot connect to {server} ({exc})")
    finally:
        telethon_log.setLevel(level)
    print(terminal_text(line))  # the account's name, as Telegram has it
    print(f"session saved to {session_path(tg)} (owner-only, mode 0600)")
    return 0


def _unreachable(why: str) -> int:
    """A network failure is not the operator's input (exit 1): say what failed and what to
    check. Nothing is signed in; running `login` again later starts over."""
    print(
        f"wirewatch: login failed: {why}. Check that this machine reaches Telegram "
        "(network, firewall, proxy) and WIREWATCH_TELEGRAM__DC_ADDRESS; then run it again.",
        file=sys.stderr,
    )
    return 1
