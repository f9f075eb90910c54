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


def schedule_known(year: int) -> bool:
    """True when the year's official arrangement (make-up working weekends) is known, from the
    package or from override rows. Holidays alone are computable by rule; 调休 days are not."""
    from .models import HolidayOverride

    if any(d.year == year for d in getattr(_cn(year), "weekend_workdays", ())):
        return True
    return HolidayOverride.objects.filter(date__year=year).exists()


def calendar_warning(today: dt.date) -> str | None:
    """A warning from November on when next year's working-day schedule is not known yet."""
    from django.utils.translation import gettext as _

    nxt = today.year + 1
    if today.month >= 11 and not schedule_known(nxt):
        return _(
            "The official %(year)s holiday and make-up working day schedule is not loaded yet. "
            "Enter it as holiday overrides so due dates roll correctly."
        ) % {"year": nxt}
    return None


def _overrides(start: dt.date, end: dt.date) -> dict[dt.date, bool]:
    from .models import HolidayOverride

    return dict(
        HolidayOverride.objects.filter(date__range=(start, end)).values_list("date", "is_working_day")
    )


def is_working_day(day: dt.date, overrides: dict[dt.date, bool] | None = None) -> bool:
    """Whether ``day`` is a working day: override table first, then the package (holidays, 调休)."""
    if overrides is None:
        overrides = _overrides(day, day)
    if day in overrides:
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
