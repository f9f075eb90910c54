"""Issue 19 finding 5: password spraying from one address is limited; a 403 logs one line."""

import logging

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_password_spraying_across_usernames_from_one_address_is_limited(client, users, settings):
    settings.HUIKUAN_LOGIN_FAILURES_PER_ADDRESS = 6
    # one guess per username: django-axes (username + address) never reaches its own limit
    for i in range(6):
        r = client.post(reverse("web:login"), {"username": f"nobody{i}", "password": "Winter2026!"})
        assert r.status_code == 200
    # the address is now refused, even with a right password for a real user
    r = client.post(reverse("web:login"), {"username": "finance", "password": "pw-123456"})
    assert r.status_code == 429
    assert client.get(reverse("web:dashboard")).status_code == 302
    # another address is not affected
    r = client.post(reverse("web:login"), {"username": "finance", "password": "pw-123456"}, REMOTE_ADDR="10.0.0.9")
    assert r.status_code == 302


def test_a_few_failures_from_an_office_do_not_lock_it(client, users, settings):
    for i in range(4):
        client.post(reverse("web:login"), {"username": f"typo{i}", "password": "x"})
    r = client.post(reverse("web:login"), {"username": "finance", "password": "pw-123456"})
    assert r.status_code == 302


def test_a_403_logs_one_line_without_a_traceback(client, users, caplog):
    client.force_login(users["collector"])
    with caplog.at_level(logging.WARNING, logger="django.request"):
        r = client.post(reverse("dunning:template-new"), {"key": "x", "channel": "sms", "language": "en", "body": "hi"})
    assert r.status_code == 403
    records = [rec for rec in caplog.records if rec.name == "django.request"]
    assert len(records) == 1 and records[0].levelno == logging.WARNING
    assert records[0].exc_info is None and "Traceback" not in caplog.text
