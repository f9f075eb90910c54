"""Issue 19 finding 3: out-of-range numbers are 400/422 (never 500), and every API error is the JSON envelope."""

import pytest
from django.test import override_settings
from django.urls import path

from huikuan.credit import services
from huikuan.credit.models import SalesOrder

pytestmark = pytest.mark.django_db
HUGE = "9" * 30


@pytest.mark.parametrize("amount", ["1e30", "-1e30", "1E+400", "123456789012345678901234567890.5"])
def test_huge_amounts_are_422_on_credit_checks_and_orders(api, customer, amount):
    services.policy_of(customer.company)
    c = api("finance")
    for url, body in (("/api/v1/credit-checks/", {"customer": customer.pk, "amount": amount}),
                      ("/api/v1/orders/", {"customer": customer.pk, "reference": "O-1", "amount": amount})):
        r = c.post(url, body, format="json")
        assert r.status_code == 422, (url, r.content)
        assert r.json()["error"]["fields"]["amount"]
    assert not SalesOrder.objects.exists()


def test_credit_service_checks_magnitude_before_scale(customer, finance):
    from huikuan.credit.errors import CreditError

    services.policy_of(customer.company)
    with pytest.raises(CreditError):
        services.check_credit(company=customer.company, customer_id=customer.pk, amount="1e30",
                              as_of=__import__("datetime").date(2026, 1, 5))


@pytest.mark.parametrize("query", [f"page={HUGE}&page_size=100", f"page={2**62}&page_size=1000",
                                   f"edges=30,{HUGE}", f"edges={2**63}", f"page_size={HUGE}"])
def test_aging_query_beyond_64_bits_is_a_client_error(api, customer, query):
    r = api("finance").get(f"/api/v1/aging/?{query}")
    assert r.status_code in (200, 400, 422), r.content
    assert r["Content-Type"].startswith("application/json")
    if r.status_code != 200:
        assert r.json()["error"]["code"] in ("invalid", "out_of_range")


@pytest.mark.parametrize("url", ["/api/v1/documents/", "/api/v1/payments/", "/api/v1/orders/", "/api/v1/customers/",
                                 "/api/v1/credit-reports/", "/api/v1/credit-notes/"])
def test_list_filters_beyond_64_bits_are_never_500(api, customer, url):
    c = api("finance")
    for query in (f"customer={HUGE}", f"page={HUGE}", f"page_size={HUGE}", f"customer=-{HUGE}"):
        r = c.get(f"{url}?{query}")
        assert r.status_code < 500, (url, query, r.content)
        assert r["Content-Type"].startswith("application/json")


def _boom(request):
    raise RuntimeError("boom")


def _overflow(request):
    raise OverflowError("Python int too large to convert to SQLite INTEGER")


urlpatterns = [path("api/v1/boom/", _boom), path("api/v1/overflow/", _overflow), path("web-overflow/", _overflow)]


@override_settings(ROOT_URLCONF=__name__)
def test_unhandled_api_errors_are_the_json_envelope(client, caplog):
    client.raise_request_exception = False
    r = client.get("/api/v1/boom/")
    assert r.status_code == 500 and r.json()["error"]["code"] == "server_error"
    assert any("boom" in str(rec.exc_info[1]) for rec in caplog.records if rec.exc_info)
    r = client.get("/api/v1/overflow/")
    assert r.status_code == 400 and r.json()["error"]["code"] == "out_of_range"
    assert client.get("/web-overflow/").status_code == 400


def test_web_list_filters_beyond_64_bits(client, company, customer, finance):
    from huikuan.common.http import parse_int

    assert parse_int(HUGE) is None and parse_int(str(2**63 - 1)) == 2**63 - 1
    client.force_login(finance)
    for url in (f"/reports/aging/?page={HUGE}", f"/collections/?customer={HUGE}", f"/credit/orders/?customer={HUGE}"):
        r = client.get(url)
        assert r.status_code in (200, 302, 400, 404), (url, r.status_code)


def test_api_refuses_control_characters_with_the_envelope(api, company):
    from huikuan.customers.models import Customer

    c = api("finance")
    r = c.post("/api/v1/customers/", {"code": "B1", "name": "Bell\x07Co"}, format="json")
    assert r.status_code == 422, r.content
    assert "U+0007" in r.json()["error"]["fields"]["name"][0]
    assert not Customer.objects.filter(code="B1").exists()
    r = c.get("/api/v1/customers/", {"q": "a\x07"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid"


def test_unauthenticated_requests_are_throttled(client, company):
    from rest_framework.settings import api_settings

    limit = int(api_settings.DEFAULT_THROTTLE_RATES["anon"].split("/")[0])
    statuses = [client.get("/api/v1/customers/").status_code for _ in range(limit)]
    assert set(statuses) == {401}
    r = client.get("/api/v1/customers/")
    assert r.status_code == 429 and r.json()["error"]["code"] == "throttled" and r["Retry-After"]
    # wrong keys count too (guessing keys)
    r = client.get("/api/v1/customers/", HTTP_AUTHORIZATION="Bearer hk_abc_def")
    assert r.status_code == 429


def test_apikey_create_refuses_a_negative_validity(company, users):
    from django.core.management import CommandError, call_command

    from huikuan.api.models import ApiKey

    for days in ("-1", "-365"):
        with pytest.raises(CommandError):
            call_command("apikey", "create", "--user", "finance", "--name", "k", "--days", days, "--as", "admin")
    assert not ApiKey.objects.exists()
