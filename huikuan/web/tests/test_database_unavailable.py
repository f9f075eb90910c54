"""A database that cannot be reached (PostgreSQL restarting, a failover, SQLite locked past its timeout) answers
503 with Retry-After — the styled page in the user's language, or the API envelope — never a bare 500."""

import pytest
from django.db import OperationalError
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def database_down(monkeypatch):
    from django.contrib.sessions.backends.db import SessionStore

    def down(self):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(SessionStore, "load", down)


def test_a_page_answers_503_in_the_users_language(client, database_down):
    client.raise_request_exception = False
    client.cookies["sessionid"] = "x" * 32
    client.cookies["django_language"] = "zh-hans"
    r = client.get(reverse("web:dashboard"))
    assert r.status_code == 503 and r["Retry-After"] == "30"
    assert "无法连接数据库" in r.content.decode()
    client.cookies["django_language"] = "en"
    r = client.get(reverse("web:dashboard"))
    assert r.status_code == 503 and "The database cannot be reached" in r.content.decode()


def test_the_api_answers_its_envelope_with_503(client, database_down):
    client.raise_request_exception = False
    client.cookies["sessionid"] = "x" * 32
    r = client.get("/api/v1/customers/", HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 503 and r["Retry-After"] == "30"
    assert r.json()["error"]["code"] == "database_unavailable"


def test_other_errors_stay_500(client):
    from huikuan.web.views import errors

    client.raise_request_exception = False
    r = client.get("/")  # not failing: a redirect to sign in
    assert r.status_code == 302
    request = type("R", (), {"path": "/customers/"})()
    try:
        raise ValueError("boom")
    except ValueError:
        response = errors.server_error(request)
    assert response.status_code == 500 and "Retry-After" not in response
