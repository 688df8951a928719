"""Submitted media, stored once by SHA-256 in the data folder (the review console shows them)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


class MediaStore:
    """A content-addressed folder: `ab/cd/<sha256>`; writes are atomic."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        """Where the bytes with this digest live."""
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, sha256: str, data: bytes) -> Path:
        """Store the bytes unless they are already there."""
        path = self.path_for(sha256)
        if path.exists():
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def get(self, sha256: str) -> bytes | None:
        """The stored bytes, or None."""
        path = self.path_for(sha256)
        return path.read_bytes() if path.exists() else None
