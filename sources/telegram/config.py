"""The listener's settings section (`WIREWATCH_TELEGRAM__*`), owned here so that the listener
never imports the application's settings; the service's `Settings` composes it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, Field, SecretStr, model_validator


class TelegramSettings(BaseModel):
    """The listener's user account (Telethon)."""

    api_id: int | None = None
    api_hash: SecretStr | None = None
    session: Path = Path("var/wirewatch.session")
    sources_file: Path | None = None  # TOML file with channels and their attribution
    catch_up_limit: int = Field(default=5000, ge=0)  # most posts fetched per channel on start
    max_channels: int = Field(default=500, ge=1, le=1000)
    flood_wait_max: int = Field(default=900, ge=1)  # longest FloodWait we sleep through, seconds
    request_pause: float = Field(default=1.0, ge=0)  # seconds between history requests
    # Busy channels (a post within the hour) are re-read after their last stored id this often,
    # seconds (0: never): Telegram does not push every update of a large channel to a user
    # account. Also how long a channel may go without a live update before it is polled.
    poll_interval: int = Field(default=60, ge=0)
    # Another MTProto server instead of Telegram's production DC: an address (and port and DC
    # number), or Telegram's test servers; `server_key` is that server's RSA public key (PEM
    # text or a PEM file) when it is not one of Telegram's. A session belongs to one server:
    # give each its own `session` file.
    dc_address: str | None = None
    dc_port: int = Field(default=443, ge=1, le=65535)
    dc_id: int = Field(default=2, ge=1, le=1000)
    test_servers: bool = False
    server_key: str | None = None
    # Several accounts (WIREWATCH_ACCOUNTS__<NAME>__*): the database lease a listener process
    # holds for its account lasts this long without renewal, seconds; after that the account
    # counts as failed and its channels move to the other accounts. Renewed, and the channel
    # assignment looked at again, every `assign_interval` seconds.
    lease_ttl: int = Field(default=60, ge=3)
    assign_interval: float = Field(default=15.0, gt=0)

    @model_validator(mode="after")
    def _renewed_in_time(self) -> TelegramSettings:
        # A listener stops reading at three quarters of its lease unless renewed: renew often
        # enough that a slow look or two does not cost the account its channels.
        if self.assign_interval * 3 > self.lease_ttl:
            raise ValueError(
                f"telegram.assign_interval ({self.assign_interval:g}s) must be at most a third "
                f"of telegram.lease_ttl ({self.lease_ttl}s)"
            )
        return self

    @property
    def configured(self) -> bool:
        return self.api_id is not None and self.api_hash is not None


class ReconcileConfig(Protocol):
    """How often and how far back the listener re-reads history (the service's job settings)."""

    @property
    def reconcile_interval(self) -> int: ...

    @property
    def reconcile_window(self) -> int: ...


@dataclass(frozen=True, slots=True)
class ReconcileDefaults:
    reconcile_interval: int = 600
    reconcile_window: int = 50
