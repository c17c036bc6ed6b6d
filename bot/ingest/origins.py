"""What we know about a forwarded post's origin: its source (for attribution) and, when the
original is stored too, when the original was posted (the time a journalist cites)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.drafting.alert import Kind, compose_alert
from bot.drafting.draft import origin_of
from storage.models import Source, StoredPost
from storage.records import SourceError, parse_permalink
from storage.store import Store


@dataclass(frozen=True, slots=True)
class OriginInfo:
    source: Source | None = None
    date: datetime | None = None


async def lookup_origin(store: Store, post: StoredPost) -> OriginInfo:
    origin = origin_of(post)
    if not origin.forwarded:
        return OriginInfo()
    source = await store.sources.by_username(origin.username) if origin.username else None
    date = None
    if post.forward_link:
        try:
            username, message_id = parse_permalink(post.forward_link)
        except SourceError:
            username = ""
        if username:
            original = await store.posts.get_by_link(username, message_id)
            date = original.date if original is not None else None
    return OriginInfo(source, date)


async def compose_with_origin(
    store: Store,
    kind: Kind,
    post: StoredPost,
    source: Source | None,
    *,
    lang: str,
    tz: str,
    **extra: Any,
) -> dict[str, Any]:
    """compose_alert with what the store knows of a forward's origin, dated against now."""
    origin = await lookup_origin(store, post)
    return compose_alert(
        kind,
        post,
        source,
        lang=lang,
        tz=tz,
        origin_source=origin.source,
        origin_date=origin.date,
        now=datetime.now(UTC),
        **extra,
    )
