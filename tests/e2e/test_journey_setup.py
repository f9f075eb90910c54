"""First day, in the browser, from an empty database (issue 11 points 1–2): sign in → the setup page →
company created with edited starter terms → add a user → the user signs in with the one-time password
and must choose their own. In zh-hans and en, at 1366 px and 390 px; and the very first run with no
user at all, where the setup page also creates the administrator."""

import re

import pytest

from huikuan.accounts.models import Company, Role, User
from huikuan.customers.models import PaymentTerm
from tests.e2e import TIMEOUT_MS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

TEXT = {
    "zh-hans": {"setup": "设立", "users": "用户", "add": "添加用户", "created": "已设立", "change": "修改密码"},
    "en": {"setup": "Set up Huikuan", "users": "Users", "add": "Add a user", "created": "is set up", "change": "Change your password"},
}


def _context(browser, lang, width=1366):
    ctx = browser.new_context(viewport={"width": width, "height": 900})
    ctx.add_cookies([{"name": "django_language", "value": lang, "url": "http://localhost"}])
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return ctx, page


def _cookie(ctx, live_server, lang):
    ctx.add_cookies([{"name": "django_language", "value": lang, "url": live_server.url}])


def _fill_company(page, code, name):
    page.fill("#id_company-code", code)
    page.fill("#id_company-name", name)
    page.select_option("#id_company-currency", "CNY")
    page.select_option("#id_company-time_zone", "Asia/Shanghai")
    # edit the starter terms before saving: drop Net 90, rename 月结30天, add 款到发货
    rows = page.locator("tr.term-row")
    rows.nth(2).locator("input[type=checkbox]").uncheck()
    rows.nth(3).locator("input[name$=-name]").fill("月结 30 天")
    blank = rows.nth(7)
    blank.locator("input[type=checkbox]").check()
    blank.locator("input[name$=-code]").fill("COD")
    blank.locator("input[name$=-name]").fill("款到发货")
    blank.locator("input[name$=-days]").fill("0")


def _add_user(page, live_server, shot, lang, tag):
    page.goto(f"{live_server.url}/settings/users/new/")
    page.fill("#id_username", "zhangwei")
    page.fill("#id_display_name", "张伟")
    page.fill("#id_employee_number", "E0012")
    page.fill("#id_email", "zhangwei@example.cn")
    page.fill("#id_phone", "138 0013 8000")
    page.select_option("#id_role", "salesperson")
    page.fill("#id_team", "华东组")
    page.fill("#id_password", "Zw-once-2026")
    shot(page, f"setup-user-form-{tag}")
    page.locator("#user-form button.primary").click()
    page.wait_for_url(re.compile(r"/settings/users/\d+/$"))
    assert "张伟" in page.locator("h1").inner_text()
    page.goto(f"{live_server.url}/settings/users/")
    row = page.locator("#user-table tbody tr", has_text="zhangwei")
    assert row.count() == 1 and "E0012" in row.inner_text()
    shot(page, f"setup-users-{tag}")


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_journey_sign_in_setup_add_user(browser, live_server, shot, lang, _fast_password_hasher):
    User.objects.create_superuser(username="root", password="Root-2026-pw")  # `huikuan createsuperuser`
    ctx, page = _context(browser, lang)
    _cookie(ctx, live_server, lang)
    try:
        page.goto(f"{live_server.url}/")
        page.wait_for_url(re.compile(r"/login/"))
        page.fill("#id_username", "root")
        page.fill("#id_password", "Root-2026-pw")
        page.locator("button.primary").click()
        page.wait_for_url(re.compile(r"/setup/$"))
        assert TEXT[lang]["setup"] in page.locator("h1").inner_text()
        assert page.locator("#admin-fields").count() == 0  # the signed-in user becomes the administrator
        _fill_company(page, "HK01", "杭州回款科技有限公司")
        shot(page, f"setup-page-{lang}")
        page.locator("#setup-form button.primary").click()
        page.wait_for_url(re.compile(r"/settings/users/$"))
        assert TEXT[lang]["created"] in page.locator(".messages").inner_text()
        _add_user(page, live_server, shot, lang, lang)
        page.set_viewport_size({"width": 390, "height": 844})
        shot(page, f"setup-users-{lang}-390")
        page.goto(f"{live_server.url}/setup/")
        shot(page, f"setup-add-company-{lang}-390")
    finally:
        ctx.close()
    company = Company.objects.get(code="HK01")
    assert set(PaymentTerm.objects.filter(company=company).values_list("code", flat=True)) == {
        "N30", "N60", "EOM30", "EOM60", "S3070", "D210N30", "COD"}
    root = User.objects.get(username="root")
    assert root.role == Role.ADMIN and company in root.companies.all()
    zw = User.objects.get(username="zhangwei")
    assert (zw.role, zw.employee_number, zw.phone, zw.team.name) == ("salesperson", "E0012", "+8613800138000", "华东组")

    # the new user signs in with the one-time password and must choose their own
    ctx, page = _context(browser, lang)
    _cookie(ctx, live_server, lang)
    try:
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", "zhangwei")
        page.fill("#id_password", "Zw-once-2026")
        page.locator("button.primary").click()
        page.wait_for_url(re.compile(r"/password/$"))
        assert TEXT[lang]["change"] in page.locator("h1").inner_text()
        page.fill("#id_old_password", "Zw-once-2026")
        page.fill("#id_new_password", "Zhang-own-2026")
        page.fill("#id_new_password2", "Zhang-own-2026")
        page.locator("#password-change-form button.primary").click()
        # exactly the dashboard: r"/$" would also match /password/ itself and return before the POST ends
        page.wait_for_url(f"{live_server.url}/")
        page.locator("h1").first.wait_for()
    finally:
        ctx.close()
    zw.refresh_from_db()
    assert not zw.must_change_password and zw.check_password("Zhang-own-2026")


def test_journey_very_first_run_creates_the_administrator(browser, live_server, shot, _fast_password_hasher):
    ctx, page = _context(browser, "zh-hans", width=390)
    _cookie(ctx, live_server, "zh-hans")
    try:
        page.goto(f"{live_server.url}/")
        page.wait_for_url(re.compile(r"/setup/$"))  # no user, no company: straight to setup
        _fill_company(page, "SH01", "上海回款贸易有限公司")
        page.fill("#id_admin-username", "wangzong")
        page.fill("#id_admin-display_name", "王总")
        page.fill("#id_admin-password", "Wang-2026-pw")
        page.fill("#id_admin-password2", "Wang-2026-pw")
        shot(page, "setup-first-run-zh-390")
        page.locator("#setup-form button.primary").click()
        page.wait_for_url(re.compile(r"/settings/users/$"))
        _add_user(page, live_server, shot, "zh-hans", "first-run-zh")
    finally:
        ctx.close()
    admin = User.objects.get(username="wangzong")
    assert admin.role == Role.ADMIN and admin.companies.get().code == "SH01"


@pytest.mark.parametrize("lang, width", [("zh-hans", 1366), ("en", 390)])
def test_journey_go_live_hold_waits_for_approval(browser, live_server, shot, company, users, customer, lang, width):
    """Point 8: the first run at go-live only proposes the +30 credit hold; a finance user approves it."""
    import datetime as dt
    from decimal import Decimal

    from django.conf import settings as dj_settings
    from django.test import Client

    from huikuan.dunning import services as dunning
    from huikuan.dunning.models import Delivery, DeliveryStatus
    from huikuan.ledger import services as ledger

    doc = ledger.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 5),
                               total=Decimal("12000.00"), actor=users["finance"])
    due = doc.instalments.get().due_date
    dunning.run_dunning(company=company, as_of=due + dt.timedelta(days=31), enqueue=False)
    hold = Delivery.objects.get(channel="hold")
    assert hold.status == DeliveryStatus.PROPOSED
    c = Client()
    c.force_login(users["finance"])
    ctx, page = _context(browser, lang, width)
    ctx.add_cookies([{"name": dj_settings.SESSION_COOKIE_NAME, "value": c.cookies[dj_settings.SESSION_COOKIE_NAME].value,
                      "url": live_server.url}])
    _cookie(ctx, live_server, lang)
    try:
        page.goto(f"{live_server.url}/dunning/proposals/")
        row = page.locator("#proposals-form tbody tr", has_text=customer.name)
        assert row.count() == 1
        shot(page, f"dunning-proposals-{lang}-{width}")
        row.locator("input[type=checkbox]").check()
        page.locator("#proposals-form button.primary").click()
        page.wait_for_url(re.compile(r"/dunning/proposals/$"))
        assert page.locator("#proposals-form tbody tr", has_text=customer.name).count() == 0
        page.goto(f"{live_server.url}/dunning/policies/{dunning.ensure_defaults(company).pk}/")
        assert page.locator("input[name=start_date]").count() == 1
        shot(page, f"dunning-policy-start-{lang}-{width}")
    finally:
        ctx.close()
    hold.refresh_from_db()
    assert hold.status != DeliveryStatus.PROPOSED
