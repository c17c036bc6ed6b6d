"""Typed settings: environment variables prefixed `WIREWATCH_`, or a `.env` file.

Nested sections use `__`: `WIREWATCH_TELEGRAM__API_ID=12345`. Every key is documented in
`.env.example`. Secrets are `SecretStr`: they print as `**********`.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.drafting.style import HouseStyle
from sources.telegram.config import TelegramSettings

TELEGRAM_BOT_API = "https://api.telegram.org"
# The account the `telegram` section describes (`WIREWATCH_TELEGRAM__API_ID`, ...): a
# single-account setup keeps working as this one.
DEFAULT_ACCOUNT = "default"
_ACCOUNT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


class AccountSettings(BaseModel):
    """One more listener account (`WIREWATCH_ACCOUNTS__<NAME>__*`): its own credentials, session
    file and channel limit; everything else (server, pacing, lease) comes from `telegram`."""

    api_id: int | None = None
    api_hash: SecretStr | None = None
    session: Path | None = None  # default var/<name>.session
    # Channels this account may join: Telegram allows 500, 1,000 with Premium.
    max_channels: int = Field(default=500, ge=1, le=1000)


class BotSettings(BaseModel):
    """The aiogram bot that alerts journalists and takes editors' commands."""

    token: SecretStr | None = None
    api_url: str = TELEGRAM_BOT_API  # a local Bot API server can be set here
    admins: Annotated[list[int], NoDecode] = Field(default_factory=list)
    retry_after_max: int = Field(default=300, ge=1)  # cap on a 429's retry_after, seconds
    max_attempts: int = Field(default=12, ge=1)  # 5xx/network retries before an alert fails
    global_rate: float = Field(default=25.0, gt=0)  # messages/s overall (Telegram: ~30)
    chat_interval: float = Field(default=1.0, ge=0)  # seconds between messages to one chat
    chat_burst: int = Field(default=3, ge=1, le=10)  # messages one chat may get back to back
    group_per_minute: int = Field(default=20, ge=1)
    # An alert about a post with a kept photo carries the photo (the draft as its caption when
    # it fits in 1,024 characters); false sends the draft alone.
    alert_photos: bool = True

    @field_validator("admins", mode="before")
    @classmethod
    def _split_admins(cls, value: object) -> object:
        if isinstance(value, str):
            return [int(x) for x in value.replace(";", ",").split(",") if x.strip()]
        if isinstance(value, int):
            return [value]
        return value

    @property
    def configured(self) -> bool:
        return self.token is not None and bool(self.token.get_secret_value())


class JobSettings(BaseModel):
    """APScheduler jobs."""

    reconcile_interval: int = Field(default=600, ge=30)  # seconds between history re-reads
    reconcile_window: int = Field(default=50, ge=1, le=100)  # recent posts re-read per channel
    outbox_interval: int = Field(default=5, ge=1)
    retention_days: int = Field(default=0, ge=0)  # 0 keeps posts forever


class CaptureSettings(BaseModel):
    """Media of followed channels' posts, and the text read from their images."""

    media_dir: Path = Path("var/media")  # content-addressed: <dir>/ab/abcdef….jpg
    media_cap_mb: int = Field(default=2048, ge=1)  # the folder's size; oldest files go first
    max_file_mb: int = Field(default=20, ge=1)  # photos and documents larger are not kept
    documents: bool = True  # keep documents (within max_file_mb) as well as photos
    media_retention_days: int = Field(default=0, ge=0)  # 0 keeps files until the cap needs room
    ocr: bool = True  # read the text in photos (Tesseract)
    ocr_langs: str = Field(default="ukr+rus+eng", pattern=r"^[a-z_]{3,}(\+[a-z_]{3,})*$")
    ocr_timeout: int = Field(default=120, ge=5)  # seconds one image may take

    @property
    def cap_bytes(self) -> int:
        return self.media_cap_mb * 1024 * 1024

    @property
    def max_file_bytes(self) -> int:
        return self.max_file_mb * 1024 * 1024


class DraftSettings(BaseModel):
    """The desk's house style and what drafts add to the quote."""

    en_months: Literal["ap", "full"] = "ap"  # English dates: "Jan. 5" (AP) or "January 5"
    home_tz: str = "Europe/Kyiv"  # the sources' zone, named when a reader's zone differs
    thread_hours: float = Field(default=6.0, ge=0)  # follow-ups within this reply to the alert
    background: int = Field(default=3, ge=0, le=10)  # older posts listed under "Earlier:"
    glossary: Path = Path("var/glossary.toml")  # names in uk/en/ru (`wirewatch glossary`)

    @field_validator("home_tz")
    @classmethod
    def _valid_home(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    def house_style(self) -> HouseStyle:
        return HouseStyle(en_months=self.en_months, home_tz=self.home_tz)

    @property
    def thread_window(self) -> timedelta:
        return timedelta(hours=self.thread_hours)


class TranslationSettings(BaseModel):
    """Machine translation of quotes for desks reading another language (labelled unofficial,
    sent as a reply to the alert; the alert never waits for it)."""

    provider: Literal["off", "telegram", "deepl", "libretranslate"] = "off"
    timeout: float = Field(default=10.0, gt=0)  # seconds one translation may take
    # Seconds an alert's translation stays owed (the service stopped, a backlog); then it is
    # given up, logged and recorded failed.
    max_age: int = Field(default=86400, gt=0)
    deepl_key: SecretStr | None = None
    deepl_url: str | None = None  # None: the DeepL client's own server for the key
    deepl_english: Literal["EN-GB", "EN-US"] = "EN-GB"
    libretranslate_url: str = "http://127.0.0.1:5000"
    libretranslate_key: SecretStr | None = None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="WIREWATCH_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        # `.env.example` leaves keys empty (`WIREWATCH_TELEGRAM__API_ID=`): copied as it is,
        # an empty value means "not set", not a malformed integer.
        env_ignore_empty=True,
        extra="ignore",
    )

    # A SQLite file, or a postgresql:// URL for PostgreSQL (several processes, one archive).
    db: Path | str = Path("var/wirewatch.db")
    tz: str = "Europe/Kyiv"  # the newsroom's time zone: drafts, quiet hours, digests
    # The desk default language (interface, drafts, digests) for anyone whose Telegram app is
    # not in uk, en or ru and who has not chosen one with /lang.
    lang: Literal["uk", "en", "ru"] = "uk"
    log_level: str = "INFO"
    log_json: bool = False
    health_host: str = "127.0.0.1"
    health_port: int = Field(default=8787, ge=0, le=65535)  # 0 disables /healthz and /metrics
    # `wirewatch run`: what the word caches together may hold (MiB as estimated; resident about
    # 0.7 of it). Smaller: less memory, more dictionary lookups for words met again.
    word_cache_mb: int = Field(default=24, ge=1, le=4096)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    # Listener accounts by name, each run by its own `wirewatch run --role listener --account
    # NAME` process; channels are shared out among them (see README, "Several accounts").
    accounts: dict[str, AccountSettings] = Field(default_factory=dict)
    bot: BotSettings = Field(default_factory=BotSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)
    drafts: DraftSettings = Field(default_factory=DraftSettings)
    capture: CaptureSettings = Field(default_factory=CaptureSettings)
    translation: TranslationSettings = Field(default_factory=TranslationSettings)

    @field_validator("tz")
    @classmethod
    def _valid_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("accounts")
    @classmethod
    def _account_names(cls, value: dict[str, AccountSettings]) -> dict[str, AccountSettings]:
        for name in value:
            if name == DEFAULT_ACCOUNT:
                raise ValueError(
                    f"account name {name!r} is the telegram section's own: set "
                    "WIREWATCH_TELEGRAM__* for it, or give this account another name"
                )
            if not _ACCOUNT_NAME.match(name):
                raise ValueError(
                    f"account name {name!r}: use lower-case letters, digits, '_' or '-' "
                    "(at most 32)"
                )
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def pooled(self) -> bool:
        """Whether channels are shared out among several named accounts."""
        return bool(self.accounts)

    def account_names(self) -> list[str]:
        """Every listener account: `default` (the telegram section) when it has credentials
        or no other account is named, then the named ones."""
        names = sorted(self.accounts)
        if self.telegram.configured or not names:
            names.insert(0, DEFAULT_ACCOUNT)
        return names

    def account(self, name: str) -> TelegramSettings:
        """The listener settings of account `name`; KeyError names the accounts there are."""
        if name == DEFAULT_ACCOUNT:
            return self.telegram
        extra = self.accounts.get(name)
        if extra is None:
            raise KeyError(
                f"no account {name!r}: configured are {', '.join(self.account_names())}"
            )
        return self.telegram.model_copy(
            update={
                "api_id": extra.api_id,
                "api_hash": extra.api_hash,
                "session": extra.session or Path(f"var/{name}.session"),
                "max_channels": extra.max_channels,
            }
        )
