"""Issue 11's first day, timed, by the web UI only, in zh-hans and en: an empty install → the setup page
(company + administrator) → the company's bank account → 300 customers from a 金蝶-shaped customer list
(title rows, GBK, 人民币, terms by name, their bank accounts) → 1,600 open invoices from an 应收单 export
(customer by name, Chinese dates, ¥ amounts) → one month's statement from 建设银行 (bracketed headers,
the account in the title rows) → matched. The screens and clicks are counted and written, with the
time, to test-artifacts/first-day-<lang>.json (docs/PERFORMANCE.md quotes them)."""

import datetime as dt
import json
import random
import re
import time
from decimal import Decimal

import pytest
from django.utils import translation

from huikuan.banking.models import BankLine, LineStatus
from huikuan.customers.models import Customer, CustomerBankAccount
from huikuan.imports.models import ImportJob, JobStatus
from huikuan.ledger.models import Instalment, ReceivableDocument
from tests.e2e import TIMEOUT_MS
from tests.e2e.conftest import ARTIFACTS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

N_CUSTOMERS, N_INVOICES, N_RECEIPTS = 300, 1600, 60
CITIES = ["上海", "杭州", "苏州", "宁波", "南京", "广州", "深圳", "无锡", "合肥", "厦门"]
TRADES = ["机械", "贸易", "电子", "五金", "化工", "纺织", "建材", "包装"]
TERMS = ["月结30天", "30天", "Net 60", "月结60天", "2/10 N30"]


def _t(text, lang):
    with translation.override(lang):
        return translation.gettext(text)


def _customers_file(path):
    rows = ["杭州回款科技有限公司", "客户列表", "打印日期：2026年12月1日",
            "客户编码,客户名称,简称,所属区域,收款条件,币别,开户银行,银行账号,户名"]
    for i in range(1, N_CUSTOMERS + 1):
        city, trade = CITIES[i % len(CITIES)], TRADES[i % len(TRADES)]
        name = f"{city}{trade}第{i}有限公司"
        rows.append(f"KH{i:04d},{name},{city}{trade}{i},{city},{TERMS[i % len(TERMS)]},人民币,"
                    f"中国工商银行{city}分行,6222 0210 0100 {i:04d},{name}")
    path.write_bytes(("\n".join(rows) + "\n").encode("gbk"))


def _invoices_file(path, rng):
    rows = ["杭州回款科技有限公司", "应收单列表", "期间：2026年9月至2026年11月,,,,单位：元",
            "客户名称,单据编号,业务日期,价税合计（元）,币别,摘要"]
    invoices = []
    for n in range(1, N_INVOICES + 1):
        i = rng.randint(1, N_CUSTOMERS)
        name = f"{CITIES[i % len(CITIES)]}{TRADES[i % len(TRADES)]}第{i}有限公司"
        day = dt.date(2026, 9, 1) + dt.timedelta(days=rng.randint(0, 90))
        amount = Decimal(rng.randint(50_000, 5_000_000)) / 100
        number = f"XS-2026-{n:05d}"
        invoices.append((i, number, amount))
        rows.append(f'{name},{number},{day.year}年{day.month}月{day.day}日,"￥{amount:,.2f}",人民币,货款')
    path.write_bytes(("\n".join(rows) + "\n").encode("gbk"))
    return invoices


def _statement_file(path, invoices, rng):
    rows = ["中国建设银行单位客户账户交易明细", '"账号:33050161373600008888  账户名称:杭州回款科技有限公司"',
            '"起始日期:20261201  结束日期:20261231"',
            "交易时间,借方发生额（支取）,贷方发生额（收入）,余额,币种,对方户名,对方账号,对方开户机构,记账日期,摘要,备注,"
            "账户明细编号-交易流水号"]
    paid = rng.sample(invoices, N_RECEIPTS)
    balance = Decimal("100000.00")
    for k, (i, number, amount) in enumerate(paid, start=1):
        city, trade = CITIES[i % len(CITIES)], TRADES[i % len(TRADES)]
        balance += amount
        day = dt.date(2026, 12, 1) + dt.timedelta(days=k % 5)
        rows.append(f'{day:%Y%m%d} 10:{k % 60:02d}:00,,"{amount:,.2f}","{balance:,.2f}",人民币,{city}{trade}第{i}有限公司,'
                    f"622202101001{i:04d},中国工商银行{city}分行,{day:%Y%m%d},货款,{number},"
                    f"33050161373600008888-{k:04d}")
    rows.append(f'20261205 16:20:00,88.00,,"{balance - 88:,.2f}",人民币,,,,20261205,手续费,,33050161373600008888-9999')
    path.write_bytes(("\n".join(rows) + "\n").encode("gb18030"))
    return paid


class Counter:
    """Counts what a person does: screens they look at and clicks (a file chosen counts as a click)."""

    def __init__(self, page):
        self.page, self.screens, self.clicks = page, 0, 0

    def goto(self, url):
        self.screens += 1
        self.page.goto(url)

    def click(self, selector):
        self.clicks += 1
        self.page.click(selector)

    def fill(self, selector, value):  # typing into a field is not a click; a select or a file is
        self.page.fill(selector, value)

    def choose(self, selector, value):
        self.clicks += 1
        self.page.select_option(selector, value)

    def file(self, selector, path):
        self.clicks += 1
        self.page.set_input_files(selector, str(path))

    def landed(self, pattern):
        self.screens += 1
        self.page.wait_for_url(re.compile(pattern))


def _import(c, url, kind, path):
    c.goto(f"{url}/imports/")
    c.choose("select[name=kind]", kind)
    c.file("input[name=file]", path)
    c.click("form[action$='/imports/upload/'] button[type=submit]")
    c.landed(r"/imports/\d+/$")  # the mapping step, filled in from the file's own headers
    c.click("form.stacked:has(select) button[type=submit]")
    c.page.wait_for_selector("form[action$='/commit/']")  # the preview: nothing wrong, the import button
    c.screens += 1
    c.click("form[action$='/commit/'] button[type=submit]")
    c.page.wait_for_load_state()
    job = ImportJob.objects.order_by("-pk").first()
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while job.status != JobStatus.DONE and time.monotonic() < deadline:
        time.sleep(0.2)
        job.refresh_from_db()
    assert job.status == JobStatus.DONE, (kind, job.status, job.errors)
    return job


@pytest.fixture
def immediate_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


@pytest.mark.parametrize("lang, locale", [("zh-hans", "zh-CN"), ("en", "en-US")])
def test_first_day_from_an_empty_install(browser, live_server, shot, tmp_path, immediate_tasks,
                                         _fast_password_hasher, lang, locale):
    rng = random.Random(11)
    customers, invoices_path, statement = tmp_path / "客户列表.csv", tmp_path / "应收单列表.csv", tmp_path / "建行12月.csv"
    _customers_file(customers)
    invoices = _invoices_file(invoices_path, rng)
    paid = _statement_file(statement, invoices, rng)

    ctx = browser.new_context(viewport={"width": 1366, "height": 900}, locale=locale)
    ctx.add_cookies([{"name": "django_language", "value": lang, "url": live_server.url}])
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    c = Counter(page)
    started = time.monotonic()
    try:
        # 1. setup: the company and its first administrator, on one page
        c.goto(f"{live_server.url}/")
        page.wait_for_url(re.compile(r"/setup/$"))
        c.fill("#id_company-code", "HK01")
        c.fill("#id_company-name", "杭州回款科技有限公司")
        c.choose("#id_company-currency", "CNY")
        c.choose("#id_company-time_zone", "Asia/Shanghai")
        c.fill("#id_admin-username", "finance")
        c.fill("#id_admin-display_name", "李会计")
        c.fill("#id_admin-password", "Li-2026-first")
        c.fill("#id_admin-password2", "Li-2026-first")
        c.click("#setup-form button.primary")
        c.landed(r"/settings/users/$")

        # 2. the company's bank account
        c.goto(f"{live_server.url}/bank/")
        c.click(f"a:has-text('{_t('Add a bank account', lang)}')")
        c.landed(r"/bank/accounts/new/$")
        c.fill("#id_bank", "中国建设银行杭州分行")
        c.fill("#id_number", "33050161373600008888")
        c.click("form.stacked button.primary")
        c.landed(r"/bank/$")

        # 3–4. the customer list and the open invoices, as the old system exported them
        _import(c, live_server.url, "customers", customers)
        assert Customer.objects.count() == N_CUSTOMERS
        assert CustomerBankAccount.objects.count() == N_CUSTOMERS
        _import(c, live_server.url, "documents", invoices_path)
        assert ReceivableDocument.objects.count() == N_INVOICES

        # 5. December's bank statement: imported and matched in one step
        c.goto(f"{live_server.url}/bank/")
        c.file("#id_file", statement)
        c.click(f"button:has-text('{_t('Import and match', lang)}')")
        c.landed(r"/bank/statements/\d+/$")
        shot(page, f"first-day-statement-{lang}")
    finally:
        elapsed = time.monotonic() - started
        ctx.close()

    receipts = BankLine.objects.filter(amount__gt=0)
    assert receipts.count() == N_RECEIPTS
    applied = receipts.filter(status__in=[LineStatus.AUTO_APPLIED, LineStatus.CONFIRMED]).count()
    suggested = receipts.filter(status=LineStatus.SUGGESTED).count()
    # every receipt names its invoice and comes from the customer's own account: all are matched
    assert applied + suggested == N_RECEIPTS, (applied, suggested)
    if suggested == 0:  # applied: each paid invoice is settled, and no other invoice was touched
        settled = set(Instalment.objects.filter(open_amount=0).values_list("document__number", flat=True))
        assert settled == {number for _i, number, _amount in paid}
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"first-day-{lang}.json").write_text(json.dumps({
        "seconds": round(elapsed, 1), "screens": c.screens, "clicks": c.clicks, "customers": N_CUSTOMERS,
        "invoices": N_INVOICES, "receipts": N_RECEIPTS, "applied": applied, "suggested": suggested}))
