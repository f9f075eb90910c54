"""Dunning: policies and steps, templates, channels (email, SMS, WeCom/DingTalk, tasks, letters), the exactly-once dunning run."""
