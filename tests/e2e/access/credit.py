"""URL × role rows of the credit app (see tests/e2e/access/__init__.py)."""

import datetime as dt
from decimal import Decimal as D

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.e2e.access import GET_405, OK_ALL, OWN, only, post_only

POLICY = {"admin", "credit_manager"}
HOLD = {"admin", "credit_manager"}
APPROVE = {"admin", "credit_manager"}
REPORT = {"admin", "finance", "credit_manager"}
ORDER = {"admin", "finance", "credit_manager", "sales_east", "sales_west", "manager_east"}
REQUEST = ORDER | {"collector"}

ROWS = {
    "credit:index": ("/credit/", OK_ALL, 302),
    "credit:policy": ("/credit/policy/", OK_ALL, 302),
    "credit:scorecard-decide": ("/credit/policy/scorecards/{sv}/decide/", post_only(POLICY), 302),
    "credit:scorecard-fit": ("/credit/policy/scorecards/fit/", post_only(POLICY), 302),
    "credit:profiles": ("/credit/profiles/", OK_ALL, 302),
    "credit:profile-export": ("/credit/profiles/export.xlsx", OK_ALL, 302),
    "credit:profile": ("/credit/customers/{c}/", OWN, 302),
    "credit:profile-edit": ("/credit/customers/{c}/edit/", post_only(POLICY), 302),
    "credit:profile-request": ("/credit/customers/{c}/request/", post_only(REQUEST), 302),
    "credit:profile-hold": ("/credit/customers/{c}/hold/", post_only(HOLD), 302),
    "credit:customer-panel": ("/credit/customers/{c}/panel/", OWN, 302),
    "credit:check": ("/credit/check/", OK_ALL, 302),
    "credit:orders": ("/credit/orders/", OK_ALL, 302),
    "credit:order-export": ("/credit/orders/export.xlsx", OK_ALL, 302),
    "credit:order-new": ("/credit/orders/new/", only(ORDER), 302),
    "credit:order": ("/credit/orders/{so}/", OWN, 302),
    "credit:order-decide": ("/credit/orders/{so}/decide/", post_only(HOLD), 302),
    "credit:order-status": ("/credit/orders/{so}/status/", post_only(ORDER), 302),
    "credit:queue": ("/credit/queue/", OK_ALL, 302),
    "credit:queue-export": ("/credit/queue/export.xlsx", OK_ALL, 302),
    "credit:requests": ("/credit/requests/", OK_ALL, 302),
    "credit:request-export": ("/credit/requests/export.xlsx", OK_ALL, 302),
    "credit:request-decide": ("/credit/requests/{cr}/decide/", post_only(APPROVE), 302),
    "credit:reports": ("/credit/reports/", OK_ALL, 302),
    "credit:report-export": ("/credit/reports/export.xlsx", OK_ALL, 302),
    "credit:report-new": ("/credit/reports/new/", post_only(REPORT), 302),
    "credit:report-import": ("/credit/reports/import/", post_only(REPORT), 302),
    "credit:report-file": ("/credit/reports/{rp}/file/", OWN, 302),
    "api:credit-check": ("/api/v1/credit-checks", GET_405, 401),
    "api:credit-check-slash": ("/api/v1/credit-checks/", GET_405, 401),
    "api:order-list": ("/api/v1/orders/", OK_ALL, 401),
    "api:order-detail": ("/api/v1/orders/{so}/", OWN, 401),
    "api:credit-report-list": ("/api/v1/credit-reports/", OK_ALL, 401),
}


def objects(*, world, company, customer, users, finance) -> dict:
    from huikuan.credit import scoring, services

    day = dt.date(2026, 3, 2)
    scoring.rescore(company=company, as_of=day)
    order = services.submit_order(company=company, customer_id=customer.pk, reference="SO-ACCESS", amount=D("100"),
                                  as_of=day, actor=users["sales_east"]).order
    req = services.request_change(company=company, customer_id=customer.pk, kind="grade", reason="x", as_of=day,
                                  actor=users["sales_east"], grade="A")
    report = services.add_report(company=company, actor=finance, provider="P", report_date=day, score=50,
                                 customer_id=customer.pk,
                                 file=SimpleUploadedFile("r.pdf", b"%PDF-1.4 report", content_type="application/pdf"))
    version = services.propose_scorecard(company=company, config=services.calc.DEFAULT_SCORECARD, actor=users["admin"])
    return {"so": order.pk, "cr": req.pk, "rp": report.pk, "sv": version.pk}
