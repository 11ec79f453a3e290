"""Errors a route raises on purpose, answered by ``app`` as ``{"error": message}``."""

from __future__ import annotations


class ApiError(Exception):
    """An error answered as ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers
