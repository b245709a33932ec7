"""The one error type of input validation, for arrays and image files alike."""

from __future__ import annotations


class InvalidInput(ValueError):
    """A request's data cannot be classified; `status` is the HTTP code, the message says why."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
