"""Retry schedule of webhook deliveries: pure, no ORM, no clock."""

from __future__ import annotations

import datetime as dt

WINDOW = dt.timedelta(hours=24)
FIRST_RETRY = dt.timedelta(minutes=1)
MAX_DELAY = dt.timedelta(hours=6)


def retry_delay(attempts: int) -> dt.timedelta:
    """Exponential backoff after ``attempts`` failed tries: 1, 4, 16, 64 minutes … capped at 6 hours."""
    return min(FIRST_RETRY * (4 ** max(attempts - 1, 0)), MAX_DELAY)


def next_attempt(*, attempts: int, window_start: dt.datetime, now: dt.datetime) -> dt.datetime | None:
    """When to try again after ``attempts`` failures, or None once the 24-hour window is spent.

    The last retry is pulled in to the window's end, so a receiver that is down for up to 24 hours still
    gets the message."""
    end = window_start + WINDOW
    if now >= end:
        return None
    return min(now + retry_delay(attempts), end)
