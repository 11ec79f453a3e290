"""The curtailment share: ``curtailed ÷ (generated + curtailed)``, and why it can be missing.

Pure rules, one home: what a date's generation fetch means for its figures (``date_reason``),
the share of a row whose inputs are complete (``share_of``), and one reason for a row made of
many dates or BM units (``combine``). A missing input never becomes a default: the share is
``None`` and the reason says which input is missing and why (``not fetched yet``,
``failed: …``, ``fetched_empty``, or a short count of periods). B1610 that Elexon has not
published yet (``coverage.b1610_pending``) is *pending*: "not yet published", with the date it
is expected from (:func:`unit_fetch_reason`), never a failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from curtailcoin.coverage import (
    B1610_PUBLICATION_LAG_DAYS,
    FAILED,
    FETCHED_EMPTY,
    FETCHED_WITH_DATA,
    b1610_pending,
    b1610_publication_date,
)

NOT_FETCHED = "not fetched yet"
NOT_PUBLISHED = "not yet published"


@dataclass(frozen=True)
class Share:
    """A row's share (a fraction 0..1, ``None`` when missing) and the reason it is missing."""

    share: float | None
    reason: str | None


def fetch_reason(status: str | None, error: str | None) -> str | None:
    """Why a dataset's figures of a date are missing, from its ``generation_fetches`` row
    (``None`` status: no row); ``None`` when it was fetched with data."""
    if status is None:
        return NOT_FETCHED
    if status == FETCHED_WITH_DATA:
        return None
    if status == FAILED:
        return f"failed: {error or 'no error recorded'}"
    if status == FETCHED_EMPTY:
        return FETCHED_EMPTY
    return f"{status}: {error}" if error else status


def pending_reason(day: date) -> str:
    """Why a date's B1610 is pending: not published yet, and from when it should be."""
    return (
        f"{NOT_PUBLISHED} (Elexon publishes B1610 {B1610_PUBLICATION_LAG_DAYS} days after the "
        f"settlement day: expected from {b1610_publication_date(day).isoformat()})"
    )


def pending_dates_reason(days: Sequence[date], total: int) -> str:
    """One reason for a row of ``total`` dates whose only gap is B1610 not yet published on
    ``days`` (sorted): the one date's :func:`pending_reason`, or their span and when the last
    is expected."""
    if len(days) == 1:
        return f"{days[0].isoformat()}: B1610 {pending_reason(days[0])}"
    last = b1610_publication_date(days[-1]).isoformat()
    return (
        f"B1610 {NOT_PUBLISHED} for {len(days)} of {total} dates ({days[0].isoformat()}.."
        f"{days[-1].isoformat()}; Elexon publishes it {B1610_PUBLICATION_LAG_DAYS} days after "
        f"the settlement day: all expected from {last})"
    )


def unit_fetch_reason(
    day: date, status: str | None, error: str | None, now: datetime | None = None
) -> str | None:
    """:func:`fetch_reason` of a date's B1610, or :func:`pending_reason` while it is pending."""
    if b1610_pending(day, status, now):
        return pending_reason(day)
    return fetch_reason(status, error)


def date_reason(
    dataset: str,
    status: str | None,
    error: str | None,
    periods: int,
    expected: int,
) -> str | None:
    """Why a date's generation of ``dataset`` is incomplete (``None``: every expected period
    has a figure)."""
    reason = fetch_reason(status, error)
    if reason is not None:
        return f"{dataset} {reason}"
    if periods < expected:
        return f"{dataset} figures for {periods} of {expected} periods"
    return None


def combine(what: str, problems: Sequence[tuple[str, str]], total: int) -> str | None:
    """One reason for a row of ``total`` parts (dates, BM units) of which ``problems``
    (label, reason) lack a figure: the only part's first reason, or a count and the first."""
    if not problems:
        return None
    label, reason = problems[0]
    labels = len({name for name, _ in problems})
    if labels == 1:
        return f"{label}: {reason}"
    return f"{what} missing on {labels} of {total} (first {label}: {reason})"


def share_of(curtailed_mwh: float, generated_mwh: float | None, reason: str | None) -> Share:
    """The share of a row whose inputs are complete (``reason`` None), else missing."""
    if reason is not None or generated_mwh is None:
        return Share(None, reason or "generation missing")
    denominator = generated_mwh + curtailed_mwh
    if denominator <= 0:
        return Share(None, "generated + curtailed is not above 0 MWh")
    return Share(curtailed_mwh / denominator, None)
