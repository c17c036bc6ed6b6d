"""Delivery: the Bot client, the notifier, pacing, payloads, digests.

aiogram is imported here first, with its Telegram types' validators built on first use
(bot/delivery/lazy_types.py): about 100 MiB less resident memory for the service.
"""

from bot.delivery.lazy_types import import_aiogram

import_aiogram()
