"""Regenerate the README / user-guide screenshots from the demo data.

    HUIKUAN_DATA_DIR=/tmp/hk-shots .venv/bin/huikuan demo --no-serve
    HUIKUAN_DATA_DIR=/tmp/hk-shots .venv/bin/huikuan snapshot-ar --months 18   # dashboard trend, if the demo has none
    HUIKUAN_DEMO=1 HUIKUAN_DATA_DIR=/tmp/hk-shots .venv/bin/huikuan serve --port 8765 --no-worker --no-schedule &
    .venv/bin/python scripts/screenshots.py [--url http://127.0.0.1:8765] [--lang en] [--out docs/screenshots]
    kill %1     (the server caches static files at start: restart it after editing app.css)

Drives Debian's Chromium (Playwright) at 1366×900 and saves viewport-only PNGs (small files). It signs in
through the login form as the demo "finance" user and switches the language with the UI's language button.
It writes to the demo database only through the UI: one unapplied payment (for the apply page) when the demo
has none, and one import job (a CSV with mistakes, previewed, never committed).
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
from decimal import Decimal
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("HUIKUAN_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
VIEWPORT = {"width": 1366, "height": 900}
# the browser starts in the other language, so the UI's language button is what picks the language
BROWSER_LOCALE = {"en": "zh-CN", "zh-hans": "en-US"}

BAD_CSV = (
    "单据编号,业务日期,客户编码,价税合计,摘要\n"
    "SC-9001,2026-13-05,{code},\"1,200.00\",货款\n"
    "SC-9002,2026-02-10,C9999,800.50,货款\n"
    "SC-9003,2026-03-15,{code},\"2,000.0x\",货款\n"
    "SC-9004,2026-03-16,{code},12.345,货款\n"
    "SC-9005,2026-03-17,{code},100.00,=1+2\n"
)


def _amount(text: str) -> Decimal:
    return Decimal(text.strip().replace(",", ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="http://127.0.0.1:8765")
    ap.add_argument("--user", default="finance")
    ap.add_argument("--password", default="huikuan-demo")
    ap.add_argument("--lang", default="en", choices=["en", "zh-hans"])
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    base = args.url.rstrip("/")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        ctx = browser.new_context(viewport=VIEWPORT, color_scheme="light", locale=BROWSER_LOCALE[args.lang])
        page = ctx.new_page()
        page.set_default_timeout(30000)

        def save(name: str) -> None:
            page.wait_for_load_state("networkidle")
            path = out / f"{name}.png"
            page.screenshot(path=str(path), full_page=False, type="png")
            print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}  {path.stat().st_size // 1024} KB")

        # sign in, in the requested language
        page.goto(f"{base}/login/")
        button = page.locator(f"form[action$='/i18n/setlang/'] button[value='{args.lang}']")
        if button.count():
            button.click()
            page.wait_for_function(f"document.documentElement.lang === '{args.lang}'")
        page.fill("#id_username", args.user)
        page.fill("#id_password", args.password)
        page.click("button.primary[type=submit]")
        page.wait_for_url(re.compile(r"/$"))
        save("dashboard")

        # the top debtor is the customer shown on the customer pages
        href = page.locator("table.list tbody tr a[href^='/customers/']").first.get_attribute("href")
        customer_pk = int(re.search(r"/customers/(\d+)/", href).group(1))

        page.goto(f"{base}/customers/")
        save("customer-list")

        page.goto(f"{base}/customers/{customer_pk}/")
        code = page.locator("h1 + .muted").inner_text().split()[1]
        save("customer-360")

        # document form with a split schedule previewed
        page.goto(f"{base}/documents/new/?customer={customer_pk}")
        split = page.locator("select[name=payment_term] option").filter(has_text=re.compile("30/70|30%"))
        if split.count():
            page.select_option("select[name=payment_term]", split.first.get_attribute("value"))
        page.fill("input[name=reference]", "HT-2026-0158")
        page.fill("input[name=description]", "数控机床配件 一批")
        page.fill("input[name=total]", "113,000.00")
        page.click("button[hx-post$='/documents/preview-schedule/']")
        page.locator("input[name=sched_amount]").first.wait_for()
        page.locator("#schedule").scroll_into_view_if_needed()
        save("document-form-schedule")

        # the apply page of a payment with unapplied cash (recorded unapplied if the demo has none)
        page.goto(f"{base}/payments/?unapplied=1&customer={customer_pk}")
        link = page.locator("table.list tbody tr a[href^='/payments/']")
        if link.count():
            pay_url = link.first.get_attribute("href")
        else:
            page.goto(f"{base}/payments/new/?customer={customer_pk}")
            page.fill("input[name=amount]", "50,000.00")
            page.uncheck("input[name=auto_allocate]")
            page.click("#payment-form button.primary")
            page.wait_for_url(re.compile(r"/payments/\d+/$"))
            pay_url = page.url.removeprefix(base)
        page.goto(f"{base}{pay_url.rstrip('/')}/apply/")
        rows = page.locator("#apply input[name^=amt_]")
        if rows.count():  # type part of the unapplied cash against the oldest item, as a clerk would
            unapplied = _amount(page.locator("main > p strong").first.inner_text())
            oldest = _amount(page.locator("#apply tbody tr").first.locator("td.num").nth(1).inner_text())
            rows.first.fill(f"{min(unapplied, oldest):,.2f}")
        save("payment-apply")

        page.goto(f"{base}/reports/aging/")
        save("aging-report")
        page.locator("#aging-table tbody tr td.num a").first.click()
        page.locator("#drill table.list").wait_for()
        page.locator("#drill").scroll_into_view_if_needed()
        save("aging-drill-down")

        page.goto(f"{base}/customers/{customer_pk}/statement/")
        save("statement")

        # an import whose preview lists the bad rows
        with tempfile.TemporaryDirectory() as tmp:
            csv_path = Path(tmp) / "应收单-金蝶导出.csv"
            csv_path.write_text(BAD_CSV.format(code=code), encoding="utf-8-sig")
            page.goto(f"{base}/imports/")
            page.select_option("select[name=kind]", "documents")
            page.set_input_files("input[name=file]", str(csv_path))
            page.click("form[action$='/imports/upload/'] button[type=submit]")
            page.wait_for_url(re.compile(r"/imports/\d+/$"))
            page.click("form.stacked:has(select[name=map_number]) button[type=submit]")
            page.wait_for_load_state()
            page.locator("h2").filter(has_text=re.compile("Problems|问题")).scroll_into_view_if_needed()
            save("import-preview-errors")

        # credit, collections, dunning and cash application: their main screens
        for name, path in (("credit-overview", "/credit/"), ("collections-worklist", "/collections/"),
                           ("dunning-runs", "/dunning/"), ("bank-statements", "/bank/")):
            page.goto(f"{base}{path}")
            save(name)

        ctx.close()
        browser.close()


if __name__ == "__main__":
    main()
