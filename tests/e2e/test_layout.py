"""Layout over every staff page (issue 13): in Chromium at 1366 px and 390 px, in both languages, no
page is wider than the viewport (wide tables scroll inside their own container), and at 1366 px the
menu keeps to one row. At 390 px the menu is collapsed behind its button and opens on a tap.

The pages are the access matrix's (tests/e2e/test_access_matrix.py): every URL an administrator can
GET that answers HTML, on the matrix's objects. A page added to the matrix is covered here too.
"""

import pytest
from django.conf import settings as dj_settings
from django.test import Client

from tests.e2e import TIMEOUT_MS
from tests.e2e.test_access_matrix import MATRIX, world  # noqa: F401 (world is a fixture)

# widths and menu rows are the browser's and the templates' alone: the PostgreSQL pass leaves this file out
# (scripts/run-tests), the pages' content and access being checked on both backends elsewhere
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.one_backend]

MEASURE = """() => {
  const d = document.documentElement;
  const items = [...document.querySelectorAll('.mainnav > a, .mainnav > details')].filter(e => e.offsetParent);
  const tops = items.map(e => e.getBoundingClientRect().top);
  const first = Math.min(...tops);
  // an item counts as a second row when it starts below the first row's items, not on a 1-px border shift
  const rows = items.length ? 1 + new Set(tops.filter(t => t > first + 8).map(Math.round)).size : 0;
  const wide = [...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > innerWidth + 1
      && !e.closest('.table-scroll')).slice(0, 3).map(e => e.tagName + '.' + e.className);
  return {width: d.scrollWidth, rows: rows, items: items.length, wide: wide};
}"""


def html_pages(client, world):  # noqa: F811
    pages = []
    for name, (path, expected, _anon) in MATRIX.items():
        if expected.get("admin") != 200 or path.startswith("/api/"):
            continue
        url = path.format(**world)
        response = client.get(url)
        # whole pages only: htmx fragments (panels, progress) are measured inside the page that loads them
        if response.status_code == 200 and response["Content-Type"].startswith("text/html") and b"<html" in response.content:
            pages.append((name, url))
    return pages


def _context(browser, live_server, user, width, language):
    c = Client()
    c.force_login(user)
    ctx = browser.new_context(viewport={"width": width, "height": 844 if width < 500 else 768})
    ctx.add_cookies([
        {"name": dj_settings.SESSION_COOKIE_NAME, "value": c.cookies[dj_settings.SESSION_COOKIE_NAME].value,
         "url": live_server.url},
        {"name": "django_language", "value": language, "url": live_server.url},
    ])
    return ctx


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_staff_page_fits_desk_and_phone(browser, live_server, world, users, client, language):  # noqa: F811
    client.force_login(users["admin"])
    pages = html_pages(client, world)
    assert len(pages) > 60, pages  # the matrix really was walked
    problems = []
    for width in (1366, 390):
        ctx = _context(browser, live_server, users["admin"], width, language)
        page = ctx.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        try:
            for name, url in pages:
                page.goto(live_server.url + url)
                m = page.evaluate(MEASURE)
                if m["width"] > width:
                    problems.append(f"{width}px {language} {name} {url}: page is {m['width']} px wide ({m['wide']})")
                staff = not name.startswith("portal:")  # the customer portal has no staff menu; its width still counts
                if width == 1366 and staff and m["rows"] != 1:
                    problems.append(f"{width}px {language} {name} {url}: the menu takes {m['rows']} rows")
                if width == 390 and m["items"]:
                    problems.append(f"{width}px {language} {name} {url}: the menu is open before its button is tapped")
        finally:
            ctx.close()
    assert problems == [], "\n".join(problems)


def test_phone_menu_opens_and_lists_every_section(browser, live_server, users, shot):
    ctx = _context(browser, live_server, users["admin"], 390, "zh-hans")
    page = ctx.new_page()
    try:
        page.goto(live_server.url + "/customers/")
        assert page.locator("#topbar").bounding_box()["height"] < 70  # the bar, not a screen of links
        toggle = page.locator(".navtoggle")
        assert toggle.get_attribute("aria-expanded") == "false"
        toggle.click()
        assert toggle.get_attribute("aria-expanded") == "true"
        links = page.locator("#navpanel a:visible")
        texts = [t.strip() for t in links.all_inner_texts()]
        for label in ("工作台", "客户", "应收单据", "收款", "账龄", "对账单", "信用管理", "催收", "自动对账", "催款", "导入",
                      "坏账核销", "发票", "付款条件"):
            assert label in texts, (label, texts)
        for link in page.locator("#navpanel .mainnav a:visible").all():  # big enough to tap
            assert link.bounding_box()["height"] >= 40
        for control in page.locator("#navpanel .userbox a:visible, #navpanel .userbox button:visible").all():
            assert control.bounding_box()["height"] >= 32
        shot(page, "phone-menu")
        page.get_by_role("link", name="催收", exact=True).click()
        page.wait_for_url(live_server.url + "/collections/")
    finally:
        ctx.close()


def test_desk_more_menu_opens_and_closes(browser, live_server, users):
    ctx = _context(browser, live_server, users["finance"], 1366, "en")
    page = ctx.new_page()
    try:
        page.goto(live_server.url + "/fapiao/")
        more = page.locator(".navmore > summary")
        assert more.get_attribute("aria-current") == "true"  # the section of the page is under "More"
        assert not page.locator(".navmore-list a", has_text="Payment terms").is_visible()
        more.click()
        assert page.locator(".navmore-list a", has_text="Payment terms").is_visible()
        page.locator("h1").first.click()
        assert not page.locator(".navmore-list a", has_text="Payment terms").is_visible()
    finally:
        ctx.close()


def test_list_rows_become_labelled_cards_on_a_phone(browser, live_server, users, customer, company):
    from huikuan.customers.models import Contact

    Contact.objects.create(customer=customer, name="王经理", phone="021-6888 1234 转 801", email="wang@huadong.example")
    ctx = _context(browser, live_server, users["admin"], 390, "zh-hans")
    page = ctx.new_page()
    try:
        page.goto(f"{live_server.url}/customers/{customer.pk}/contacts/")
        row = page.locator("table.list tbody tr").first
        assert row.evaluate("r => getComputedStyle(r).display") == "block"  # a card, not a table row
        phone = row.locator("td", has=page.locator("a.tel"))
        assert phone.get_attribute("data-label") == "电话"
        assert row.locator("a.tel").get_attribute("href") == "tel:02168881234,801"
        assert row.locator("a.mailto").get_attribute("href") == "mailto:wang@huadong.example"
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        ctx.close()


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_credit_policy_grade_table_fits_a_desk_screen(browser, live_server, users, company, language):
    """The grade table is edited in place: at 1366 px it fits without scrolling sideways (issue 13)."""
    from huikuan.credit import services as cs

    cs.policy_of(company)
    ctx = _context(browser, live_server, users["admin"], 1366, language)
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(live_server.url + "/credit/policy/")
        table = page.locator("table.policy-grades")
        assert table.locator("tbody tr").count() >= 3
        fit = table.evaluate("t => { const s = t.closest('.table-scroll') || t.parentElement;"
                             " return [t.getBoundingClientRect().width, s.clientWidth, document.documentElement.scrollWidth]; }")
        assert fit[0] <= fit[1] and fit[2] <= 1366, fit
    finally:
        ctx.close()
