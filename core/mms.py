"""M4: which files may travel as MMS, checked before anything is queued."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from core.errors import MmsNotSupported
from core.gateway import Media

# What carriers accept for MMS across the US networks; anything else is
# refused up front rather than failing at the carrier after it was queued.
ALLOWED_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/bmp",
        "image/webp",
        "video/mp4",
        "video/3gpp",
        "video/quicktime",
        "audio/mpeg",
        "audio/mp4",
        "audio/amr",
        "audio/wav",
        "audio/ogg",
        "text/vcard",
        "text/x-vcard",
        "text/calendar",
        "text/plain",
        "application/pdf",
    }
)


def media_from_file(path: Path) -> Media:
    """Read ``path`` as an attachment, its type guessed from its name."""
    mime, _ = mimetypes.guess_type(path.name)
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise MmsNotSupported(f"cannot read {path}: {exc.strerror}") from exc
    return Media(filename=path.name, mime=mime or "application/octet-stream", content=content)


def check(media: Media, max_bytes: int) -> None:
    """Refuse, with the reason, an attachment that carriers would not take."""
    if media.mime not in ALLOWED_TYPES:
        raise MmsNotSupported(
            f"{media.filename} cannot be sent by MMS: type {media.mime} is not accepted "
            "(images, short video, audio, vCard and PDF are)"
        )
    size = len(media.content)
    if size == 0:
        raise MmsNotSupported(f"{media.filename} is empty")
    if size > max_bytes:
        raise MmsNotSupported(
            f"{media.filename} is {size / 1024:.0f} KiB; MMS attachments may be at most "
            f"{max_bytes / 1024:.0f} KiB"
        )
