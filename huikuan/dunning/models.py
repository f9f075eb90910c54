"""Dunning: policies and steps, templates, channels (email, SMS, WeCom/DingTalk, tasks, letters), the exactly-once dunning run."""

from django.db import models  # noqa: F401
