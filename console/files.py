"""Reading a file someone named for an import: a regular file, of bounded size.

Kept free of Textual and click, so the CLI and the console read alike.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from core.errors import InvalidInput

MAX_CSV_BYTES = 256 * 2**20
"""A campaign's targets CSV larger than this is split first."""


def read_csv(path: Path) -> bytes:
    """The file at ``path``: a regular file of at most MAX_CSV_BYTES."""
    try:
        # O_NONBLOCK: a FIFO at the path returns at once, then is refused as not a file.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as stream:
            info = os.fstat(stream.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise InvalidInput(f"{path} is not a regular file")
            if info.st_size > MAX_CSV_BYTES:
                raise InvalidInput(f"{path} is larger than {MAX_CSV_BYTES // 2**20} MB; split it")
            return stream.read()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None
