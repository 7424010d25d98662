"""The base of every app's domain errors: each says how an API answers it, so the one exception
handler (`backfill_project.exceptions`) turns any of them into a response without importing the
apps that raise them."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """An error of the domain (not of the request's form, which stays Django's
    `ValidationError`). An API answers it with `http_status` and `body()`; a command or form
    shows `message`."""

    http_status = 400
    code = ""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, Any]:
        """The JSON body of the API's answer: `detail`, `code` when the error has one, and the
        fields a client acts on."""
        return {"detail": self.message, **({"code": self.code} if self.code else {})}
