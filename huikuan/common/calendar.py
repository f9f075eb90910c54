"""Chinese working days, including make-up working weekends (调休).

The `holidays` package knows the published schedules; ``HolidayOverride`` rows take precedence so
an operator can enter next year's schedule before the package ships it.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import holidays


@lru_cache(maxsize=64)
def _cn(year: int):
    return holidays.country_holidays("CN", years=year)


def package_knows_year(year: int) -> bool:
    return any(d.year == year for d in _cn(year))


def _overrides(start: dt.date, end: dt.date) -> dict[dt.date, bool]:
    from .models import HolidayOverride

    return dict(
        HolidayOverride.objects.filter(date__range=(start, end)).values_list("date", "is_working_day")
    )


def is_working_day(day: dt.date, overrides: dict[dt.date, bool] | None = None) -> bool:
    if overrides and day in overrides:
        return overrides[day]
    cal = _cn(day.year)
    if day in cal:
        return False
    workdays = getattr(cal, "weekend_workdays", set())
    if day in workdays:
        return True
    return day.weekday() < 5


def next_working_day(day: dt.date, overrides: dict[dt.date, bool] | None = None) -> dt.date:
    """The same day if it is a working day, else the next one (Civil Code art. 203)."""
    if overrides is None:
        overrides = _overrides(day, day + dt.timedelta(days=40))
    for _ in range(60):
        if is_working_day(day, overrides):
            return day
        day += dt.timedelta(days=1)
    return day
