"""`wirewatch evidence LINK`: what a channel said and when we saw it, with proof it is unchanged.

For every version of the post the trail holds the message as its source gave it (Telethon's TL
object as JSON, the export's entry, the feed's line), the SHA-256 taken when it was captured and
the capture time; a deletion is a record of its own, timed when we noticed it. The command
recomputes every hash (and the hash of every kept file, which is its name), compares each
version's text with the archive's copy (what search and drafts show), prints the trail as text
an editor or a lawyer can read, or as JSON, and can write both to a folder. Exit code 1 when
anything fails to verify, with the record and both hashes (or both texts) named.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.cli.common import UsageError, open_store, print_json
from bot.settings import Settings
from storage.evidence import EvidenceRecord
from storage.media import PostFile, hash_file
from storage.models import PostVersion
from storage.records import parse_permalink

_TEXT_SHOWN = 400  # characters of a version's text in the readable report


def register(sub: Any, parent: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "evidence",
        parents=[parent],
        help="the evidence trail of a post: every version as captured, hashed and verified",
        description=(
            "Print the evidence trail of a post (its link: https://t.me/<channel>/<id>): every "
            "version as the source gave it, with its SHA-256 and capture time, and deletions "
            "with the time they were noticed. Every hash is recomputed; exit code 1 if any "
            "record or kept file no longer matches."
        ),
    )
    p.add_argument("link", help="the post's link, https://t.me/<channel>/<id>")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument(
        "--export",
        metavar="DIR",
        help="also write <channel>-<id>.evidence.json and .txt into DIR",
    )
    p.set_defaults(func=cmd_evidence)


@dataclass(frozen=True, slots=True)
class _FileCheck:
    kind: str
    name: str
    sha256: str
    size: int
    state: str  # "intact", "changed", "missing", "removed"
    computed: str | None


async def cmd_evidence(args: argparse.Namespace, settings: Settings) -> int:
    channel, message_id = parse_permalink(args.link)
    async with open_store(settings, read_only=True) as store:
        src = await store.sources.by_username(channel)
        post = await store.posts.get_by_link(channel, message_id)
        if post is not None:
            message_id = post.message_id  # an album item's link: the album's trail
        records = await store.evidence.for_message(
            channel, message_id, src.peer_id if src else None
        )
        files = await store.media.of_post(post.id) if post is not None else []
        # An album's messages may be deleted one by one: the trail names each, and says how
        # much of the album is still up.
        members = (
            await store.posts.album_members(post.id)
            if post is not None and post.grouped_id is not None
            else []
        )
        # An album's archive text is assembled from several messages' captions, so only a
        # single message's versions can be compared one to one with its records.
        versions = (
            await store.posts.versions(post.id)
            if post is not None and post.grouped_id is None
            else []
        )
    if not records:
        raise UsageError(f"no evidence of {args.link}: this database never captured that post")
    checks = [await asyncio.to_thread(_check_file, settings, pf) for pf in files]
    archive = _archive_checks(records, versions)
    link = f"https://t.me/{channel}/{message_id}"
    report = _as_json(link, records, checks, archive)
    album = post is not None and post.grouped_id is not None
    up = (
        [m.message_id for m in members if m.up] if post is not None and not post.deleted_at else []
    )
    text = _as_text(link, records, checks, archive, album=album, up=up, of=len(members))
    if args.export:
        folder = Path(args.export)
        stem = folder / f"{channel}-{message_id}.evidence"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            Path(f"{stem}.json").write_text(
                json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
            )
            Path(f"{stem}.txt").write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            # Exit code 1 means "failed to verify"; a folder we cannot write is the person's
            # input, exit 2.
            raise UsageError(
                f"cannot write the evidence to {exc.filename or folder}: {exc.strerror or exc}"
            ) from exc
        print(f"wrote {stem}.json and {stem}.txt", file=sys.stderr)
    if args.json:
        print_json(report)
    else:
        print(text)
    return 0 if report["verified"] else 1


def _check_file(settings: Settings, pf: PostFile) -> _FileCheck:
    f = pf.file
    path = settings.capture.media_dir / f.name
    if f.removed:
        return _FileCheck(f.kind, f.name, f.sha256, f.size, "removed", None)
    try:
        computed, _ = hash_file(path)
    except FileNotFoundError:
        return _FileCheck(f.kind, f.name, f.sha256, f.size, "missing", None)
    state = "intact" if computed == f.sha256 else "changed"
    return _FileCheck(f.kind, f.name, f.sha256, f.size, state, computed)


@dataclass(frozen=True, slots=True)
class _ArchiveCheck:
    record: int  # 1-based, as the report numbers records
    version: int
    archived: str | None  # None: the archive holds no such version
    said: str


def _archive_checks(
    records: list[EvidenceRecord], versions: list[PostVersion]
) -> list[_ArchiveCheck]:
    """Each version record whose raw message gives a text, against the archive's copy of that
    version: a difference means the archive (what search and drafts quote) was changed, or lost
    a version, after the evidence was captured."""
    by_version = {v.version: v.text for v in versions}
    if not by_version:
        return []
    out = []
    for n, r in enumerate(records, 1):
        if r.kind != "version" or r.version is None or not r.intact:
            continue  # a broken record is already reported; its text proves nothing
        said, _ = _said(r.raw)
        if said is None:
            continue
        out.append(_ArchiveCheck(n, r.version, by_version.get(r.version), said))
    return out


def _archive_differs(check: _ArchiveCheck) -> bool:
    return check.archived is None or check.archived.strip() != check.said.strip()


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _as_json(
    link: str,
    records: list[EvidenceRecord],
    files: list[_FileCheck],
    archive: list[_ArchiveCheck],
) -> dict[str, Any]:
    broken = [r for r in records if not r.intact]
    bad_files = [f for f in files if f.state in ("changed", "missing")]
    differs = [a for a in archive if _archive_differs(a)]
    return {
        "link": link,
        "verified": not broken and not bad_files and not differs,
        "hash": "SHA-256 of `raw` encoded as UTF-8",
        "records": [
            {
                "record": n,
                "id": r.id,
                "kind": r.kind,
                "version": r.version,
                "origin": r.origin,
                # For a deletion this is when we noticed it.
                "captured_at": r.captured_at.isoformat(),
                "sha256": r.sha256,
                "computed_sha256": r.computed,
                "intact": r.intact,
                "channel": r.channel,
                "channel_id": r.channel_id,
                "message_id": r.message_id,
                "raw": r.raw,
            }
            for n, r in enumerate(records, 1)
        ],
        "files": [
            {
                "kind": f.kind,
                "name": f.name,
                "sha256": f.sha256,
                "size": f.size,
                "state": f.state,
                "computed_sha256": f.computed,
            }
            for f in files
        ],
        "archive": [
            {
                "record": a.record,
                "version": a.version,
                "matches": not _archive_differs(a),
                "archived_text": a.archived,
            }
            for a in archive
        ],
    }


def _said(raw: str) -> tuple[str | None, str | None]:
    """(text, edit time) as the raw message gives them, for the readable report."""
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError:
        return None, None
    if not isinstance(obj, dict):
        return None, None
    text: Any = obj.get("message", obj.get("text"))
    if isinstance(text, list):  # an export's text is a list of strings and styled parts
        text = "".join(p if isinstance(p, str) else str(p.get("text", "")) for p in text)
    edited = obj.get("edit_date") or obj.get("edited")
    return (text if isinstance(text, str) else None), (str(edited) if edited else None)


def _as_text(
    link: str,
    records: list[EvidenceRecord],
    files: list[_FileCheck],
    archive: list[_ArchiveCheck],
    *,
    album: bool = False,
    up: list[int] | None = None,
    of: int = 0,
) -> str:
    """`album`: the post is an album; `up`, of `of`: its messages still up."""
    first = records[0]
    peer = f", peer id {first.channel_id}" if first.channel_id else ""
    lines = [
        f"Evidence for {link}",
        f"Channel @{first.channel}{peer}, message {first.message_id}. Times in UTC.",
        "Each record is the message as it reached us, hashed (SHA-256) when it was captured.",
        "",
    ]
    for n, r in enumerate(records, 1):
        if r.kind == "deletion" and album:
            lines.append(
                f"#{n}  deletion of the album's message {r.message_id} noticed"
                f" {_utc(r.captured_at)}  (source: {r.origin})"
            )
        elif r.kind == "deletion":
            lines.append(f"#{n}  deletion noticed {_utc(r.captured_at)}  (source: {r.origin})")
        else:
            lines.append(
                f"#{n}  version {r.version}, captured {_utc(r.captured_at)}  (source: {r.origin})"
            )
            text, edited = _said(r.raw)
            if edited:
                lines.append(f"    edited at (as the source says): {edited}")
            if text is not None:
                shown = text if len(text) <= _TEXT_SHOWN else text[:_TEXT_SHOWN] + "…"
                lines.append(f"    text: {shown!r}" if text else "    text: (none)")
        verdict = (
            "matches" if r.intact else f"DOES NOT MATCH: the stored message hashes to {r.computed}"
        )
        lines.append(f"    SHA-256 {r.sha256}  {verdict}")
        lines.append("")
    if up:
        shown = ", ".join(str(m) for m in up)
        lines.append(f"The album's messages still up: {shown} ({len(up)} of {of}).")
        lines.append("")
    for f in files:
        state = {
            "intact": "matches its name (SHA-256)",
            "changed": f"CHANGED: its bytes hash to {f.computed}",
            "missing": "MISSING from the media folder",
            "removed": "removed by the media folder's cap or retention; its hash is kept",
        }[f.state]
        lines.append(f"{f.kind} {f.name} ({f.size} bytes): {state}")
    if files:
        lines.append("")
    broken = [(n, r) for n, r in enumerate(records, 1) if not r.intact]
    bad_files = [f for f in files if f.state in ("changed", "missing")]
    differs = [a for a in archive if _archive_differs(a)]
    if not broken and not bad_files and not differs:
        lines.append(f"Verified: all {len(records)} records match their SHA-256 hashes.")
        if archive:
            lines.append(
                f"The archive's copy of {_versions(len(archive))} (what search and drafts"
                " quote) is the text the records hold."
            )
    for n, r in broken:
        what = "deletion" if r.kind == "deletion" else f"version {r.version}"
        lines.append(
            f"VERIFICATION FAILED: record #{n} ({what}, captured {_utc(r.captured_at)}) no "
            f"longer matches the hash taken when it was captured (stored {r.sha256}, now "
            f"{r.computed}): the stored message was changed afterwards."
        )
    for f in bad_files:
        lines.append(f"VERIFICATION FAILED: {f.kind} {f.name} is {f.state}.")
    for a in differs:
        if a.archived is None:
            lines.append(
                f"VERIFICATION FAILED: the archive holds no version {a.version}, which record"
                f" #{a.record} captured."
            )
            continue
        shown = a.archived if len(a.archived) <= _TEXT_SHOWN else a.archived[:_TEXT_SHOWN] + "…"
        lines.append(
            f"VERIFICATION FAILED: the archive's copy of version {a.version} differs from record"
            f" #{a.record}: it reads {shown!r}. Search and drafts quote the archive, so it was"
            " changed after capture."
        )
    return "\n".join(lines)


def _versions(n: int) -> str:
    return "1 version" if n == 1 else f"{n} versions"
