"""Reading uploaded files within the configured size limit."""

from __future__ import annotations

from fastapi import UploadFile

from bastion.errors import InvalidInput, TooLarge


def read_upload(upload: UploadFile | None, limit: int, field: str = "file") -> bytes:
    """The upload's bytes; 413 past `limit`, 422 when missing or empty."""
    if upload is None:
        raise InvalidInput(f"Send the content as a multipart form field named `{field}`.")
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"The file is larger than the limit of {limit:,} bytes.")
    if not data:
        raise InvalidInput(f"The uploaded `{field}` is empty.", code="empty_file")
    return data
