"""The errors a source can raise, one layer below everything that talks to a source.

Light on purpose (no HTTP library): the CLI's entry point catches ``UnreachableSourceError``
without importing the network stack, and ``is_transient`` is the one answer to "is a retry
worth it?" for a source error.
"""

from __future__ import annotations


class SourceError(Exception):
    """A source could not give an answer. ``transient`` says whether a retry might help."""

    transient = False

    def __init__(self, message: str, *, url: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status = status


class TransientSourceError(SourceError):
    """Worth retrying: 429, 5xx, timeouts, resets, truncated or invalid bodies."""

    transient = True

    def __init__(
        self,
        message: str,
        *,
        url: str = "",
        status: int | None = None,
        kind: str = "error",
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message, url=url, status=status)
        self.kind = kind
        self.retry_after_s = retry_after_s


class PermanentSourceError(SourceError):
    """Not worth retrying: 4xx other than 429, or a body that does not match the schema."""


class NotFoundError(PermanentSourceError):
    """404: the resource does not exist at the source."""


class UnreachableSourceError(PermanentSourceError):
    """The host cannot be resolved or refuses connections, and has never answered this client.

    The message is one line about the host (not the request), the same for every request.
    """

    def __init__(self, message: str, *, url: str, host: str) -> None:
        super().__init__(message, url=url)
        self.host = host


class RetriesExhaustedError(SourceError):
    """A transient failure persisted past the retry budget (tries or time)."""

    transient = True

    def __init__(self, message: str, *, url: str, tries: int, last: TransientSourceError) -> None:
        super().__init__(message, url=url, status=last.status)
        self.tries = tries
        self.last = last


def is_transient(exc: BaseException) -> bool:
    """True when a retry of the same request might succeed."""
    return isinstance(exc, SourceError) and exc.transient
