"""Who sees what in the customer portal: contacts of two customers, a group contact, expired and reused
links, codes, a revoked contact, and a portal session on staff URLs (and a staff session on portal URLs)."""

import datetime as dt
import re
from decimal import Decimal as D

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from huikuan.common.models import AuditEvent
from huikuan.customers.models import Contact, CustomerGroup
from huikuan.ledger import services as ledger
from huikuan.portal import services as portal
from huikuan.portal.middleware import COOKIE
from huikuan.portal.models import SignInToken
from huikuan.statements.services import issue_statement

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _locmem_cache(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "portal-tests"}}
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def world(company, customer, other_customer, finance, net30):
    group = CustomerGroup.objects.create(company=company, name="华东集团")
    sister = type(customer).objects.create(company=company, code="C003", name="杭州华东分公司", group=group,
                                           owner=customer.owner, payment_term=net30)
    customer.group = group
    customer.save(update_fields=["group"])
    docs = {}
    for c, total in ((customer, "1000.00"), (other_customer, "2000.00"), (sister, "3000.00")):
        docs[c.pk] = ledger.post_document(company=company, customer_id=c.pk, document_date=dt.date(2026, 1, 5),
                                          total=D(total), actor=finance)
    st_a = issue_statement(user=finance, customer=customer, period_from=dt.date(2026, 1, 1), period_to=dt.date(2026, 1, 31),
                           today=dt.date(2026, 2, 1))
    st_b = issue_statement(user=finance, customer=other_customer, period_from=dt.date(2026, 1, 1),
                           period_to=dt.date(2026, 1, 31), today=dt.date(2026, 2, 1))
    a = Contact.objects.create(customer=customer, name="甲", email="a@example.cn", language="zh-hans")
    b = Contact.objects.create(customer=other_customer, name="乙", email="b@example.cn", language="en")
    g = Contact.objects.create(customer=customer, name="集团财务", phone="+8613800000001")
    for contact, whole in ((a, False), (b, False), (g, True)):
        portal.grant_access(actor=finance, contact_id=contact.pk, whole_group=whole)
    return {"a": a, "b": b, "g": g, "A": customer, "B": other_customer, "S": sister, "st_a": st_a, "st_b": st_b,
            "docs": docs}


def _link(contact, purpose="invite", now=None):
    with transaction.atomic():
        return portal.issue_token(access=contact.portal_access, purpose=purpose, now=now or timezone.now()).secret


def _sign_in(client, contact):
    resp = client.post(f"/portal/in/{_link(contact)}/")
    assert resp.status_code == 302 and resp["Location"] == "/portal/"
    return resp


def test_contacts_of_two_customers_see_only_their_own(client, world):
    A, B, S = world["A"], world["B"], world["S"]
    _sign_in(client, world["a"])
    assert client.get("/portal/")["Location"] == f"/portal/c/{A.pk}/"
    page = client.get(f"/portal/c/{A.pk}/")
    assert page.status_code == 200 and "1,000.00" in page.content.decode()
    for path in (f"/portal/c/{B.pk}/", f"/portal/c/{S.pk}/", f"/portal/c/{B.pk}/items.xlsx",
                 f"/portal/c/{B.pk}/statements/{world['st_b'].pk}/pdf/",
                 f"/portal/c/{A.pk}/statements/{world['st_b'].pk}/pdf/",  # another customer's statement under ours
                 f"/portal/c/{A.pk}/items/{world['docs'][B.pk].instalments.get().pk}/dispute/",
                 f"/portal/c/{B.pk}/promise/"):
        assert client.get(path).status_code == 404, path
    assert client.get(f"/portal/c/{A.pk}/statements/{world['st_a'].pk}/pdf/").content.startswith(b"%PDF")
    client.post("/portal/signout/")
    _sign_in(client, world["b"])
    assert client.get(f"/portal/c/{B.pk}/").status_code == 200
    assert client.get(f"/portal/c/{A.pk}/").status_code == 404


def test_group_contact_sees_the_group_and_nothing_else(client, world):
    _sign_in(client, world["g"])
    home = client.get("/portal/")
    assert home.status_code == 200
    text = home.content.decode()
    assert world["A"].name in text and world["S"].name in text and world["B"].name not in text
    assert client.get(f"/portal/c/{world['S'].pk}/").status_code == 200
    assert client.get(f"/portal/c/{world['B'].pk}/").status_code == 404


def test_links_are_single_use_expire_and_reveal_nothing(client, world):
    secret = _link(world["a"])
    assert client.get(f"/portal/in/{secret}/").status_code == 200  # looking does not spend it
    _sign_in_resp = client.post(f"/portal/in/{secret}/")
    assert _sign_in_resp.status_code == 302
    client.post("/portal/signout/")
    reused = client.post(f"/portal/in/{secret}/")
    expired_secret = _link(world["b"], now=timezone.now() - dt.timedelta(days=4))
    expired = client.post(f"/portal/in/{expired_secret}/")
    unknown = client.post("/portal/in/no-such-link-at-all/")
    assert reused.status_code == expired.status_code == unknown.status_code == 410
    # the same page whatever the reason: no name, no address, no difference between the three
    bodies = {r.content.decode() for r in (reused, expired, unknown)}
    for body in bodies:
        assert "甲" not in body and "b@example.cn" not in body and "乙" not in body
    assert len({re.sub(r'name="(csrfmiddlewaretoken|next)" value="[^"]+"', "", b) for b in bodies}) == 1
    assert client.get(f"/portal/c/{world['A'].pk}/").status_code == 302  # not signed in


def test_revoked_contact_loses_session_and_links(client, world, finance):
    secret = _link(world["a"])
    _sign_in(client, world["a"])
    assert client.get(f"/portal/c/{world['A'].pk}/").status_code == 200
    portal.revoke_access(actor=finance, access_id=world["a"].portal_access.pk, now=timezone.now())
    assert client.get(f"/portal/c/{world['A'].pk}/").status_code == 302
    assert client.post(f"/portal/in/{secret}/").status_code == 410


def test_code_sign_in_same_answer_for_unknown_address_and_rate_limited(client, world, settings):
    mail.outbox.clear()
    unknown = client.post("/portal/signin/", {"address": "nobody@example.cn"})
    known = client.post("/portal/signin/", {"address": "A@example.cn"})
    assert unknown.status_code == known.status_code == 302 and unknown["Location"] == known["Location"]
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["a@example.cn"]
    code = re.search(r"\b(\d{6})\b", mail.outbox[0].subject).group(1)
    wrong = "000000" if code != "000000" else "111111"
    assert client.post("/portal/signin/code/", {"code": wrong}).status_code == 422
    ok = client.post("/portal/signin/code/", {"code": code})
    assert ok.status_code == 302 and client.get(f"/portal/c/{world['A'].pk}/").status_code == 200
    client.post("/portal/signout/")
    client.post("/portal/signin/", {"address": "a@example.cn"})
    assert client.post("/portal/signin/code/", {"code": code}).status_code == 422  # a code works once
    settings.HUIKUAN_PORTAL_LIMITS = {"ip": 100, "address": 3}
    statuses = [client.post("/portal/signin/", {"address": "a@example.cn"}).status_code for _ in range(3)]
    assert statuses[-1] == 429


def test_wrong_codes_spend_the_code(world):
    portal.request_code(address="a@example.cn", now=timezone.now())
    token = SignInToken.objects.get(access=world["a"].portal_access, purpose="code")
    for _ in range(portal.CODE_ATTEMPTS):
        with pytest.raises(portal.LinkInvalid):
            portal.use_code(address="a@example.cn", code="abc", now=timezone.now())
    token.refresh_from_db()
    assert token.used_at is not None and token.failed_attempts == portal.CODE_ATTEMPTS


def test_portal_session_on_staff_urls_gets_nothing(client, world):
    _sign_in(client, world["a"])
    assert COOKIE in client.cookies and client.cookies[COOKIE]["path"] == "/portal/"
    for path in ("/", "/customers/", f"/customers/{world['A'].pk}/", f"/customers/{world['A'].pk}/portal/",
                 "/statements/", "/collections/"):
        resp = client.get(path)
        assert resp.status_code == 302 and resp["Location"].startswith("/login/"), path
    assert client.get("/api/v1/customers/").status_code in (401, 403)
    # the portal session key used as the staff cookie is no staff session either
    client.cookies["sessionid"] = client.cookies[COOKIE].value
    assert client.get("/customers/").status_code == 302


def test_staff_session_on_portal_urls_gets_sign_in_only(client, world, users):
    client.force_login(users["admin"])
    assert client.get("/portal/")["Location"] == "/portal/signin/"
    assert client.get(f"/portal/c/{world['A'].pk}/")["Location"] == "/portal/signin/"
    assert client.get("/portal/signin/").status_code == 200


def test_sign_in_is_on_the_timeline(client, world):
    _sign_in(client, world["a"])
    ev = AuditEvent.objects.get(verb="portal.signed_in")
    assert ev.customer_id == world["A"].pk and ev.data["contact_id"] == world["a"].pk


def test_staff_invite_from_the_customer_page(client, world, users):
    mail.outbox.clear()
    contact = Contact.objects.create(customer=world["A"], name="丙", email="c@example.cn", language="en")
    client.force_login(users["sales_west"])  # not their customer
    assert client.post(f"/portal-access/{contact.pk}/invite/").status_code == 404
    client.force_login(users["auditor"])  # read-only
    assert client.post(f"/portal-access/{contact.pk}/invite/").status_code == 403
    client.force_login(users["sales_east"])
    page = client.get(f"/customers/{world['A'].pk}/portal/")
    assert page.status_code == 200 and "丙" in page.content.decode()
    resp = client.post(f"/portal-access/{contact.pk}/invite/")
    assert resp.status_code == 302 and len(mail.outbox) == 1 and mail.outbox[0].to == ["c@example.cn"]
    link = re.search(r"https?://\S+/portal/in/\S+/", mail.outbox[0].body).group(0)
    portal_client = type(client)()
    assert portal_client.post(link.split("testserver", 1)[1]).status_code == 302
    assert portal_client.get(f"/portal/c/{world['A'].pk}/").status_code == 200
    assert client.post(f"/portal-access/{contact.pk}/revoke/").status_code == 302
    assert portal_client.get(f"/portal/c/{world['A'].pk}/").status_code == 302


def test_account_page_queries_do_not_grow_with_items(client, world, company, finance):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _sign_in(client, world["a"])
    url = f"/portal/c/{world['A'].pk}/"
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for i in range(6):
        ledger.post_document(company=company, customer_id=world["A"].pk, document_date=dt.date(2026, 1, 6 + i),
                             total=D("10.00"), actor=finance)
        ledger.record_payment(company=company, customer_id=world["A"].pk, amount=D("1.00"),
                              date=dt.date(2026, 1, 20 + i), actor=finance)
        issue_statement(user=finance, customer=world["A"], period_from=dt.date(2026, 1, 1),
                        period_to=dt.date(2026, 1, 31), today=dt.date(2026, 2, 1))
    with CaptureQueriesContext(connection) as many:
        page = client.get(url)
    assert page.status_code == 200 and page.content.decode().count("/dispute/") == 7
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]
