"""Request plumbing shared by every staff view (web and the apps' own screens)."""

from __future__ import annotations

import datetime as dt

from django.http import Http404


def company_of(request):
    """The active company (our legal entity); a user without one sees 404 rather than a crash."""
    if request.company is None:
        raise Http404
    return request.company


def parse_date(value, default: dt.date | None = None) -> dt.date | None:
    """An ISO date from a query or form value; anything else gives ``default``."""
    try:
        return dt.date.fromisoformat(value) if value else default
    except ValueError:
        return default


# The database's integers are 64-bit: a larger number from a query string would overflow the SQLite driver.
INT64_MAX = 2**63 - 1


def parse_int(value) -> int | None:
    """A whole number from a query or form value; anything else — or one beyond 64 bits — gives None."""
    try:
        number = int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
    return number if number is None or -INT64_MAX <= number <= INT64_MAX else None
