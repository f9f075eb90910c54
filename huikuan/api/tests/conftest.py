import pytest
from rest_framework.test import APIClient

from huikuan.api.services import issue_api_key


@pytest.fixture
def make_key(company, users):
    def _make(user="finance", **kw):
        key, raw = issue_api_key(actor=users["admin"], user=users[user], company=company, name=f"k-{user}", **kw)
        return key, raw

    return _make


@pytest.fixture
def api(make_key):
    def _client(user="finance", **kw):
        key, raw = make_key(user, **kw)
        c = APIClient()
        c.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        c.key = key
        return c

    return _client


@pytest.fixture(autouse=True)
def responses_match_the_schema(monkeypatch):
    """Every response an API test receives through APIClient is checked against the schema (contract.py)."""
    from . import contract

    original = APIClient.request

    def request(self, **kwargs):
        response = original(self, **kwargs)
        contract.check(kwargs.get("REQUEST_METHOD", "GET"), kwargs.get("PATH_INFO", ""), response)
        return response

    monkeypatch.setattr(APIClient, "request", request)
