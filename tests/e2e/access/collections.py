"""URL × role rows of the collections app (see tests/e2e/access/__init__.py)."""

import datetime as dt

from tests.e2e.access import GET_405, OK_ALL, OWN, only  # noqa: F401

PLAN_REQ = {"admin", "finance", "credit_manager", "collector", "sales_east", "manager_east"}

# {pr} promise, {ds} dispute, {pl} payment plan, {cs} case, {tk} task, {wd} written demand — all of the
# sales_east customer
ROWS = {
    "collections:index": ("/collections/", OK_ALL, 302),
    "collections:queue-refresh": ("/collections/refresh/", GET_405, 302),
    "collections:assign-collector": ("/collections/assign-collector/", GET_405, 302),
    "collections:customer-panel": ("/collections/customers/{c}/panel/", OWN, 302),
    "collections:customer": ("/collections/customers/{c}/", OWN, 302),
    "collections:log-activity": ("/collections/customers/{c}/activity/", GET_405, 302),
    "collections:next-action": ("/collections/customers/{c}/next-action/", GET_405, 302),
    "collections:promise-new": ("/collections/customers/{c}/promises/new/", GET_405, 302),
    "collections:send-statement": ("/collections/customers/{c}/statement/send/", GET_405, 302),
    "collections:dispute-new": ("/collections/customers/{c}/disputes/new/", GET_405, 302),
    "collections:plan-new": ("/collections/customers/{c}/plans/new/", only(PLAN_REQ, west=404), 302),
    "collections:demand-new": ("/collections/customers/{c}/demands/new/", GET_405, 302),
    "collections:demand-proof": ("/collections/demands/{wd}/proof/", OWN, 302),
    "collections:case-open": ("/collections/customers/{c}/cases/new/", GET_405, 302),
    "collections:interest-post": ("/collections/customers/{c}/interest/post/", GET_405, 302),
    "collections:playbook-run": ("/collections/customers/{c}/playbooks/bankruptcy/", GET_405, 302),
    "collections:promises": ("/collections/promises/", OK_ALL, 302),
    "collections:promise-cancel": ("/collections/promises/{pr}/cancel/", GET_405, 302),
    "collections:disputes": ("/collections/disputes/", OK_ALL, 302),
    "collections:dispute-resolve": ("/collections/disputes/{ds}/resolve/", GET_405, 302),
    "collections:plans": ("/collections/plans/", OK_ALL, 302),
    "collections:plan": ("/collections/plans/{pl}/", OWN, 302),
    "collections:plan-decide": ("/collections/plans/{pl}/decide/", GET_405, 302),
    "collections:cases": ("/collections/cases/", OK_ALL, 302),
    "collections:limitation": ("/collections/limitation/", OK_ALL, 302),
    "collections:case": ("/collections/cases/{cs}/", OWN, 302),
    "collections:case-claim": ("/collections/cases/{cs}/claim/", GET_405, 302),
    "collections:case-evidence-pdf": ("/collections/cases/{cs}/evidence.pdf", OWN, 302),
    "collections:case-evidence-zip": ("/collections/cases/{cs}/evidence.zip", OWN, 302),
    "collections:task-done": ("/collections/tasks/{tk}/done/", GET_405, 302),
    "collections:interest-rules": ("/collections/interest/", OK_ALL, 302),
}


def objects(*, world, company, customer, users, finance) -> dict:
    from django.core.files.base import ContentFile

    from huikuan.collections import services as svc

    today = dt.date(2026, 3, 2)
    pr = svc.record_promise(company=company, customer_id=customer.pk, amount="10", promised_date=today, today=today,
                            actor=finance)
    ds = svc.open_dispute(company=company, customer_id=customer.pk, reason="price", amount="5", actor=finance, today=today,
                          instalment_id=world["i"])
    pl = svc.request_plan(company=company, customer_id=customer.pk, instalment_ids=[world["i"]], today=today, actor=finance,
                          lines=[("2026-04-01", "900.00")])
    cs = svc.open_case(company=company, customer_id=customer.pk, actor=users["legal"], today=today)
    tk = svc.create_task(company=company, customer_id=customer.pk, kind="call", due=today, actor=finance)
    wd = svc.record_written_demand(company=company, customer_id=customer.pk, date=today, reference="EMS-ACCESS-1",
                                   channel="courier", proof=ContentFile(b"%PDF-1.4 signed receipt", name="receipt.pdf"), actor=finance)
    return {"pr": pr.pk, "ds": ds.pk, "pl": pl.pk, "cs": cs.pk, "tk": tk.pk, "wd": wd.pk}
