"""M4: which files may travel as MMS, checked before anything is queued."""

from __future__ import annotations

import mimetypes
import os
import stat
from pathlib import Path

from core.delivery.gateway import Media
from core.errors import MmsNotSupported

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


MAX_FILE_BYTES = 16 * 1024 * 1024
"""No carrier takes a bigger MMS file: nothing larger is read, whatever mms_max_bytes says."""


def media_from_file(path: Path, max_bytes: int = MAX_FILE_BYTES) -> Media:
    """Read ``path`` as an attachment, its type guessed from its name.

    Looks before reading: anything but a regular file is refused (a FIFO or
    a device would block, or never end), and so is a file over ``max_bytes``
    (pass the setting mms_max_bytes). At most that many bytes are read, so a
    file that grows meanwhile cannot fill the memory either.
    """
    most = min(max_bytes, MAX_FILE_BYTES)
    mime, _ = mimetypes.guess_type(path.name)
    try:
        _ensure_regular(path, os.stat(path))
        # O_NONBLOCK: should the path turn into a FIFO after the stat, open
        # returns at once instead of waiting for a writer.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as stream:
            info = os.fstat(stream.fileno())
            _ensure_regular(path, info)
            _ensure_size(path.name, info.st_size, most)
            content = stream.read(most + 1)
    except OSError as exc:
        raise MmsNotSupported(f"cannot read {path}: {exc.strerror}") from exc
    _ensure_size(path.name, len(content), most)
    return Media(filename=path.name, mime=mime or "application/octet-stream", content=content)


def _ensure_regular(path: Path, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise MmsNotSupported(f"{path} is not a regular file, so it cannot be attached")


def _ensure_size(name: str, size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise MmsNotSupported(
            f"{name} is {size / 1024:.0f} KiB; MMS attachments may be at most "
            f"{max_bytes / 1024:.0f} KiB"
        )


def check(media: Media, max_bytes: int) -> None:
    """Refuse, with the reason, an attachment that carriers would not take."""
    if media.mime not in ALLOWED_TYPES:
        raise MmsNotSupported(
            f"{media.filename} cannot be sent by MMS: type {media.mime} is not accepted "
            "(images, short video, audio, vCard and PDF are)"
        )
    if not media.content:
        raise MmsNotSupported(f"{media.filename} is empty")
    _ensure_size(media.filename, len(media.content), max_bytes)
