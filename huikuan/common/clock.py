"""The clock, read only at the edges (views, commands, tasks) and passed inward as ``as_of``."""

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import timezone


def now() -> dt.datetime:
    return timezone.now()


def today(company=None) -> dt.date:
    tz = ZoneInfo(getattr(company, "timezone", None) or "Asia/Shanghai")
    return timezone.now().astimezone(tz).date()
