"""One error type for everything a user can get wrong, rendered as JSON or a CLI message."""

from __future__ import annotations

from typing import Any


class BastionError(Exception):
    """An error whose message is safe and useful to show to the person who caused it."""

    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        details: dict[str, Any] | list[Any] | None = None,
        code: str | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code

    def to_dict(self) -> dict[str, Any]:
        """The body of the JSON error response: `{"error": {"code", "message", "details"}}`."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class InvalidInput(BastionError):
    """The request or file is malformed: the message says what to fix."""

    status_code = 422
    code = "invalid_input"


class UnsupportedMedia(BastionError):
    """The content is not of a kind that can be processed (not an image, corrupt, a bomb)."""

    status_code = 422
    code = "unsupported_media"


class TooLarge(BastionError):
    """The body or file is over a configured limit."""

    status_code = 413
    code = "too_large"


class NotFound(BastionError):
    """The named thing does not exist."""

    status_code = 404
    code = "not_found"


class Conflict(BastionError):
    """The request clashes with the current state (a duplicate name, say)."""

    status_code = 409
    code = "conflict"


class Unauthorized(BastionError):
    """No valid credentials were presented."""

    status_code = 401
    code = "unauthorized"


class Forbidden(BastionError):
    """The credentials are valid but their role may not do this."""

    status_code = 403
    code = "forbidden"
