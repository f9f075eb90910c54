"""Setup page (first run and further companies), the Users page and one-time passwords, through the client."""

import io

import openpyxl
import pytest
from django.test import Client

from huikuan.accounts.models import Company, Role, User
from huikuan.common.models import AuditEvent
from huikuan.customers.models import PaymentTerm
from huikuan.onboarding.defaults import STARTER_TERMS

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_fast_password_hasher")]


def _setup_post(**over):
    data = {"company-code": "HK01", "company-name": "杭州回款科技有限公司", "company-name_en": "",
            "company-currency": "CNY", "company-time_zone": "Asia/Shanghai", "company-roll_due_dates": "on",
            "admin-username": "wangzong", "admin-display_name": "王总", "admin-email": "",
            "admin-password": "Wang-2026-pw", "admin-password2": "Wang-2026-pw"}
    rows = [dict(use="on", code=c, name=n, kind=k, days=str(d), split=", ".join(f"{x['percent']}@{x['days']}" for x in s),
                 discount=f"{dp}/{dd}" if dd else "") for c, n, k, d, s, dp, dd in STARTER_TERMS]
    rows.append(dict(use="", code="", name="", kind="net", days="30", split="", discount=""))
    for i, row in enumerate(rows):
        for k, v in row.items():
            data[f"terms-{i}-{k}"] = v
    # as the page renders it: every row (the starter terms and the blank ones) is an initial form
    data.update({"terms-TOTAL_FORMS": str(len(rows)), "terms-INITIAL_FORMS": str(len(rows))})
    data.update(over)
    return data


def test_empty_install_leads_to_setup_and_creates_the_company():
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert c.get("/login/")["Location"] == "/setup/"
    page = c.get("/setup/")
    assert page.status_code == 200 and "First administrator" in page.content.decode()
    assert "月结60天" in page.content.decode() and "30@0, 70@60" in page.content.decode()
    data = _setup_post()
    data["terms-2-use"] = ""  # no N90
    data["terms-3-name"] = "月结 30 天"
    data.update({"terms-7-use": "on", "terms-7-code": "COD", "terms-7-name": "款到发货", "terms-7-days": "0"})
    resp = c.post("/setup/", data)
    assert resp.status_code == 302 and resp["Location"] == "/settings/users/"
    company = Company.objects.get()
    admin = User.objects.get(username="wangzong")
    assert admin.role == Role.ADMIN and not admin.must_change_password and company in admin.companies.all()
    terms = dict(PaymentTerm.objects.filter(company=company).values_list("code", "name"))
    assert "N90" not in terms and terms["EOM30"] == "月结 30 天" and terms["COD"] == "款到发货" and len(terms) == 7
    assert c.get("/settings/users/").status_code == 200  # signed in as the new administrator
    assert Client().get("/setup/")["Location"].startswith("/login/")  # closed to strangers from now on


def test_setup_errors_are_shown_in_the_users_language_and_nothing_is_written():
    c = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    data = _setup_post(**{"admin-password2": "other"})
    data["terms-5-split"] = "30@0, 60@60"
    resp = c.post("/setup/", data)
    assert resp.status_code == 422
    body = resp.content.decode()
    assert "两次输入的密码不一致" in body
    assert not Company.objects.exists() and not User.objects.exists()
    resp = c.post("/setup/", _setup_post(**{"terms-5-split": "30@0, 60@60"}))
    assert resp.status_code == 422 and "付款条件第 6 行" in resp.content.decode()
    assert not Company.objects.exists() and not User.objects.exists()


def test_signed_in_superuser_without_company_is_sent_to_setup_and_becomes_its_admin():
    boss = User.objects.create_superuser(username="root", password="Root-2026-pw")  # createsuperuser: role finance
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.force_login(boss)
    assert c.get("/")["Location"] == "/setup/"
    page = c.get("/setup/").content.decode()
    assert "First administrator" not in page
    data = {k: v for k, v in _setup_post().items() if not k.startswith("admin-")}
    assert c.post("/setup/", data).status_code == 302
    boss.refresh_from_db()
    assert boss.role == Role.ADMIN and boss.companies.get().code == "HK01"


def test_administrator_adds_a_further_company_others_cannot(company, users):
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.force_login(users["finance"])
    assert c.get("/setup/").status_code == 403
    c.force_login(users["admin"])
    page = c.get("/setup/").content.decode()
    assert "Add a company" in page and "First administrator" not in page
    data = {k: v for k, v in _setup_post(**{"company-code": "SZ02", "company-name": "深圳回款贸易有限公司"}).items()
            if not k.startswith("admin-")}
    assert c.post("/setup/", data).status_code == 302
    assert set(users["admin"].companies.values_list("code", flat=True)) == {"T01", "SZ02"}
    resp = c.post("/setup/", data)
    assert resp.status_code == 422 and "SZ02 already exists" in resp.content.decode()
    assert AuditEvent.objects.filter(verb="accounts.company.created", actor=users["admin"]).count() == 1


def _user_post(**over):
    data = {"username": "zhangwei", "display_name": "张伟", "employee_number": "E0012", "email": "zw@example.cn",
            "phone": "13800138000", "role": "salesperson", "team": "华东组", "manager": "", "language": "zh-hans",
            "password": "Zw-once-2026"}
    data.update(over)
    return data


def test_users_page_add_change_role_reset_deactivate_export(company, users):
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.force_login(users["admin"])
    resp = c.post("/settings/users/new/", _user_post(manager=str(users["manager_east"].pk)))
    zw = User.objects.get(username="zhangwei")
    assert resp.status_code == 302 and resp["Location"] == f"/settings/users/{zw.pk}/"
    assert zw.manager == users["manager_east"] and zw.must_change_password and company in zw.companies.all()
    dup = c.post("/settings/users/new/", _user_post(username="zw2"))
    assert dup.status_code == 422 and "Employee number E0012 already belongs to 张伟" in dup.content.decode()
    listing = c.get("/settings/users/?q=E0012").content.decode()
    assert "zhangwei" in listing and "sales_west" not in listing
    assert c.post(f"/settings/users/{zw.pk}/", {"action": "role", "role": "collector"}).status_code == 302
    assert c.post(f"/settings/users/{zw.pk}/", {"action": "password", "password": "Again-2026-x"}).status_code == 302
    assert c.post(f"/settings/users/{zw.pk}/active/", {"active": "0"}).status_code == 302
    zw.refresh_from_db()
    assert zw.role == Role.COLLECTOR and not zw.is_active and zw.check_password("Again-2026-x")
    detail = c.get(f"/settings/users/{zw.pk}/").content.decode()
    assert "Role changed" in detail and "User deactivated" in detail and "Deactivated" in detail
    assert "zhangwei" not in c.get("/settings/users/").content.decode()
    assert "zhangwei" in c.get("/settings/users/?show=all").content.decode()
    xlsx = c.get("/settings/users/?show=all&format=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).active
    rows = {r[0]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["zhangwei"][1:4] == ("张伟", "E0012", "Collector") and rows["zhangwei"][9] == "Deactivated"
    self_off = c.post(f"/settings/users/{users['admin'].pk}/active/", {"active": "0"}, follow=True)
    assert "You cannot deactivate yourself." in self_off.content.decode()


def test_users_pages_are_for_administrators_and_their_companies(company, users):
    other = Company.objects.create(code="X9", name="别家")
    stranger = User.objects.create_user(username="stranger", password="x-2026-pass")
    stranger.companies.add(other)
    c = Client()
    for role in ("finance", "sales_east", "auditor"):
        c.force_login(users[role])
        assert c.get("/settings/users/").status_code == 403
        assert c.get("/settings/users/new/").status_code == 403
    c.force_login(users["admin"])
    assert c.get(f"/settings/users/{stranger.pk}/").status_code == 404
    assert c.post(f"/settings/users/{stranger.pk}/active/", {"active": "0"}).status_code == 404


def test_one_time_password_must_be_changed_at_first_sign_in(company, users):
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.force_login(users["admin"])
    c.post("/settings/users/new/", _user_post())
    me = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert me.post("/login/", {"username": "zhangwei", "password": "Zw-once-2026"}).status_code == 302
    assert me.get("/customers/")["Location"] == "/password/"
    bad = me.post("/password/", {"old_password": "Zw-once-2026", "new_password": "Zw-once-2026",
                                 "new_password2": "Zw-once-2026"})
    assert bad.status_code == 422 and "different from the current one" in bad.content.decode()
    ok = me.post("/password/", {"old_password": "Zw-once-2026", "new_password": "My-own-2026!",
                                "new_password2": "My-own-2026!"})
    assert ok.status_code == 302
    assert me.get("/customers/").status_code == 200  # still signed in, no longer redirected
    assert User.objects.get(username="zhangwei").check_password("My-own-2026!")


def test_a_leavers_customers_move_in_one_action_audited_on_each_timeline(company, users, customer):
    from huikuan.customers.models import Customer

    second = Customer.objects.create(company=company, code="C-0002", name="杭州第二客户有限公司",
                                     owner=users["sales_east"])
    leaver = users["sales_east"]
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.force_login(users["admin"])
    page = c.get(f"/settings/users/{leaver.pk}/").content.decode()
    assert "Move their customers" in page and 'id="owned-count">2<' in page
    refused = c.post(f"/settings/users/{leaver.pk}/", {"action": "reassign", "to_user": str(users["finance"].pk)})
    assert refused.status_code == 422  # finance is not offered: not a salesperson
    resp = c.post(f"/settings/users/{leaver.pk}/", {"action": "reassign", "to_user": str(users["sales_west"].pk)})
    assert resp.status_code == 302
    assert set(Customer.objects.filter(pk__in=[customer.pk, second.pk]).values_list("owner", flat=True)) == {
        users["sales_west"].pk}
    events = AuditEvent.objects.filter(verb="customers.customer.updated", customer_id__in=[customer.pk, second.pk])
    assert events.count() == 2 and all(e.actor == users["admin"] for e in events)
    timeline = c.get(f"/customers/{customer.pk}/").content.decode()
    assert "sales_east" in timeline and "sales_west" in timeline  # owner: old → new on the customer's timeline
    c.force_login(users["sales_west"])
    assert c.get(f"/customers/{customer.pk}/").status_code == 200  # the new owner now sees it
