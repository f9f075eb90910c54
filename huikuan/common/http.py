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


def parse_int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
