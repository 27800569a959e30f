"""Reading a file someone named for an import: a regular file, of bounded size.

The one way the CLI and the console open a file to import (campaign targets,
contacts, shifts). A FIFO or a device at the path would block or never end,
so it is refused before anything is read, and a file that cannot be read is a
refusal that says why, not a crash. Kept free of Textual and click, so the
CLI and the console read alike.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, TextIO

from core.errors import InvalidInput

MAX_CSV_BYTES = 256 * 2**20
"""A campaign's targets CSV larger than this is split first."""


@contextlib.contextmanager
def open_regular(path: Path) -> Iterator[BinaryIO]:
    """``path`` opened for reading; InvalidInput when it is not a regular file or
    cannot be opened."""
    try:
        # O_NONBLOCK: a FIFO at the path returns at once, then is refused as not a file.
        # The check is on what was opened, so nothing can be swapped in between.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as stream:
        if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
            raise InvalidInput(f"{path} is not a regular file")
        yield stream


def _read(path: Path, stream: BinaryIO, most: int = -1) -> bytes:
    try:
        return stream.read(most)
    except OSError as exc:  # a directory is refused once opened; this is EIO and kin
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None


def read_at_most(path: Path, most: int) -> bytes:
    """The file at ``path``, cut one byte past ``most``: whoever reads it refuses a
    longer file in its own words (core's limit) without it being read whole."""
    with open_regular(path) as stream:
        return _read(path, stream, most + 1)


@contextlib.contextmanager
def open_csv_text(path: Path) -> Iterator[TextIO]:
    """``path`` as UTF-8 text (a byte-order mark dropped), for a CSV reader to stream."""
    with open_regular(path) as stream:
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
        try:
            yield text
        finally:
            text.detach()  # the binary stream is closed once, by open_regular


def read_csv(path: Path) -> bytes:
    """The file at ``path``: a regular file of at most MAX_CSV_BYTES."""
    with open_regular(path) as stream:
        if os.fstat(stream.fileno()).st_size > MAX_CSV_BYTES:
            raise InvalidInput(f"{path} is larger than {MAX_CSV_BYTES // 2**20} MB; split it")
        return _read(path, stream)


def typed_path(raw: str, what: str) -> Path:
    """A path as typed in a form (``~`` expanded); InvalidInput naming ``what`` if blank."""
    if not raw.strip():
        raise InvalidInput(f"give the path of {what}")
    return Path(raw.strip()).expanduser()
