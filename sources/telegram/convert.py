"""Telethon messages -> our own `Post`: the edge past which no Telethon object travels."""

from __future__ import annotations

from typing import Any

from telethon import types

from storage.models import Source
from storage.records import Post, permalink


def media_kind(message: Any) -> str | None:
    """The kind of media a message carries, in our vocabulary (None for text only)."""
    media = getattr(message, "media", None)
    if media is None or isinstance(media, types.MessageMediaEmpty):
        return None
    if isinstance(media, types.MessageMediaPhoto):
        return "photo"
    if isinstance(media, types.MessageMediaDocument):
        for kind in ("sticker", "voice", "video_note", "gif", "video", "audio"):
            if getattr(message, kind, None):
                return "animation" if kind == "gif" else kind
        return "document"
    simple = {
        types.MessageMediaPoll: "poll",
        types.MessageMediaWebPage: "webpage",
        types.MessageMediaGeo: "geo",
        types.MessageMediaGeoLive: "geo",
        types.MessageMediaVenue: "venue",
        types.MessageMediaContact: "contact",
        types.MessageMediaDice: "dice",
        types.MessageMediaStory: "story",
        types.MessageMediaPaidMedia: "paid",
    }
    return simple.get(type(media), "other")


def media_key(message: Any) -> str | None:
    """What the message's picture or file is, as it stays across re-sends: the photo's or
    document's own id and data centre ('photo:2:5000001'). Never the access hash or the file
    reference: Telegram renews those (hours, or any edit), and the same picture re-sent with a
    new reference is no edit. None when there is nothing to identify: text, a link preview (its
    link is in the text; a preview shown or hidden is not the official's edit), a live location
    (its edits move the pin, not the post), a poll, an expired or empty photo."""
    media = getattr(message, "media", None)
    if isinstance(media, types.MessageMediaPhoto) and isinstance(media.photo, types.Photo):
        return f"photo:{media.photo.dc_id}:{media.photo.id}"
    if isinstance(media, types.MessageMediaDocument) and isinstance(
        media.document, types.Document
    ):
        return f"document:{media.document.dc_id}:{media.document.id}"
    return None


def attached_link(message: Any) -> str | None:
    """The link whose preview the official attached to the post apart from its text (Telegram's
    `manual` preview: its URL may be nowhere in the message), or None. Such a link is as much
    the post's as one under a word; an automatic preview's link is in the text already."""
    media = getattr(message, "media", None)
    if not isinstance(media, types.MessageMediaWebPage) or not media.manual:
        return None
    url = getattr(media.webpage, "url", None)
    return str(url) if url else None


def _name_of(entity: Any) -> str | None:
    if entity is None:
        return None
    username = getattr(entity, "username", None)
    if username:
        return f"@{username}"
    title = getattr(entity, "title", None)
    if title:
        return str(title)
    full = " ".join(
        x for x in (getattr(entity, "first_name", None), getattr(entity, "last_name", None)) if x
    )
    return full or None


def forward_origin(message: Any) -> tuple[str | None, str | None]:
    """(origin as readers see it, permalink of the original) for a forwarded message."""
    fwd = getattr(message, "fwd_from", None)
    if fwd is None:
        return None, None
    forward = getattr(message, "forward", None)
    origin_peer = fwd.from_id
    if isinstance(origin_peer, types.PeerChannel):
        chat = forward.chat if forward is not None else None
        name = _name_of(chat) or fwd.post_author
        username = getattr(chat, "username", None)
        link = None
        if fwd.channel_post:
            if username:
                link = permalink(username.lower(), fwd.channel_post)
            else:
                link = f"https://t.me/c/{origin_peer.channel_id}/{fwd.channel_post}"
        return name or f"channel {origin_peer.channel_id}", link
    if isinstance(origin_peer, types.PeerUser):
        sender = forward.sender if forward is not None else None
        return _name_of(sender) or fwd.from_name or f"user {origin_peer.user_id}", None
    # A person who hides their account behind their name on forwards.
    return fwd.from_name or fwd.post_author, None


def raw_json(tl: Any) -> str:
    """A TL object as Telegram gave it, as JSON (Telethon's own `to_json`: bytes base64, dates
    ISO 8601): what the evidence trail keeps and hashes."""
    return str(tl.to_json(ensure_ascii=False))


def to_post(message: Any, source: Source) -> Post | None:
    """Our record of a Telethon channel message; None for service messages and empty slots."""
    if not isinstance(message, types.Message):
        return None
    links = tuple(
        dict.fromkeys(
            [e.url for e in (message.entities or []) if isinstance(e, types.MessageEntityTextUrl)]
            + [url for url in (attached_link(message),) if url]
        )
    )
    forward_from, forward_link = forward_origin(message)
    reply = message.reply_to
    channel_id = (
        message.peer_id.channel_id if isinstance(message.peer_id, types.PeerChannel) else None
    )
    return Post(
        channel=source.username,
        message_id=message.id,
        date=message.date,
        text=message.message or "",
        edit_date=message.edit_date,
        media=media_kind(message),
        media_key=media_key(message),
        grouped_id=message.grouped_id,
        forward_from=forward_from,
        forward_link=forward_link,
        reply_to=getattr(reply, "reply_to_msg_id", None),
        channel_id=channel_id,
        channel_title=source.title,
        links=links,
        raw=raw_json(message),
        origin="telegram",
    )
