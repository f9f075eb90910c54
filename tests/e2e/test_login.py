"""Sign-in, lockout after repeated failures (django-axes), language switch."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_sign_in_and_out(client, users):
    r = client.post(reverse("web:login"), {"username": "finance", "password": "pw-123456"})
    assert r.status_code == 302
    assert client.get(reverse("web:dashboard")).status_code == 200
    client.post(reverse("web:logout"))
    assert client.get(reverse("web:dashboard")).status_code == 302


def test_lockout_after_repeated_failures(client, users, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("web:login"), {"username": "collector", "password": "wrong"})
    r = client.post(reverse("web:login"), {"username": "collector", "password": "pw-123456"})
    # even the right password is refused while locked out
    assert r.status_code == 429
    assert client.get(reverse("web:dashboard")).status_code == 302


def test_language_switch(client, users):
    client.force_login(users["finance"])
    r = client.get(reverse("web:dashboard"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "<html lang=\"zh-hans\">" in r.content.decode()
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    r = client.get(reverse("web:dashboard"))
    assert "<html lang=\"en\">" in r.content.decode()


def test_single_company_install_hides_company_choice(client, users):
    client.force_login(users["finance"])
    assert 'name="company"' not in client.get(reverse("web:dashboard")).content.decode()
