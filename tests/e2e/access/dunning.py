"""URL × role rows of the dunning app (see tests/e2e/access/__init__.py)."""

import datetime as dt

from tests.e2e.access import GET_405, OK_ALL, OWN  # noqa: F401

# POST-only actions answer 405 to any GET; their permission checks are tested in huikuan/dunning/tests/test_views.py

# {dr} run, {dn} notice of the sales_east customer, {dd} one of its deliveries, {dp} policy, {dt} template
ROWS = {
    "dunning:index": ("/dunning/", OK_ALL, 302),
    "dunning:run-now": ("/dunning/run/", GET_405, 302),
    "dunning:run": ("/dunning/runs/{dr}/", OK_ALL, 302),
    "dunning:run-letters": ("/dunning/runs/{dr}/letters.pdf", {**OK_ALL, "sales_west": 302}, 302),
    "dunning:notices": ("/dunning/notices/", OK_ALL, 302),
    "dunning:notice": ("/dunning/notices/{dn}/", OWN, 302),
    "dunning:notice-letter": ("/dunning/notices/{dn}/letter.pdf", OWN, 302),
    "dunning:outbox": ("/dunning/outbox/", OK_ALL, 302),
    "dunning:delivery-retry": ("/dunning/outbox/{dd}/retry/", GET_405, 302),
    "dunning:policies": ("/dunning/policies/", OK_ALL, 302),
    "dunning:policy-new": ("/dunning/policies/new/", OK_ALL, 302),
    "dunning:policy": ("/dunning/policies/{dp}/", OK_ALL, 302),
    "dunning:templates": ("/dunning/templates/", OK_ALL, 302),
    "dunning:template-new": ("/dunning/templates/new/", OK_ALL, 302),
    "dunning:template-preview": ("/dunning/templates/preview/", GET_405, 302),
    "dunning:template": ("/dunning/templates/{dt}/", OK_ALL, 302),
    "dunning:template-pdf": ("/dunning/templates/{dt}/preview.pdf", OK_ALL, 302),
    "dunning:customers": ("/dunning/customers/", OK_ALL, 302),
    "dunning:customer": ("/dunning/customers/{c}/", OWN, 302),
    "dunning:send-now": ("/dunning/customers/{c}/send-now/", GET_405, 302),
    "dunning:settings": ("/dunning/settings/", OK_ALL, 302),
}


def objects(*, world, company, customer, users, finance) -> dict:
    from decimal import Decimal

    from huikuan.customers.models import Contact
    from huikuan.dunning import services
    from huikuan.dunning.models import Channel, Delivery, DunningTemplate, Notice
    from huikuan.ledger import services as ledger

    Contact.objects.get_or_create(customer=customer, name="Dunning contact", defaults={"email": "pay@example.cn"})
    # an undisputed overdue item of its own (the collections rows dispute world["i"])
    ledger.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 9, 1), total=Decimal("800.00"),
                         actor=finance)
    policy = services.ensure_defaults(company)
    run = services.run_dunning(company=company, as_of=dt.date(2026, 12, 31), enqueue=False)
    notice = Notice.objects.filter(customer=customer).first()
    assert notice is not None, "the access-matrix world needs an overdue item of the customer"
    if not notice.deliveries.filter(channel=Channel.LETTER).exists():
        Delivery.objects.create(company=company, notice=notice, channel=Channel.LETTER, address="x",
                                idempotency_key=f"access-{notice.pk}")
    tpl = DunningTemplate.objects.filter(company=company, channel=Channel.EMAIL).first()
    return {"dr": run.pk, "dn": notice.pk, "dd": notice.deliveries.first().pk, "dp": policy.pk, "dt": tpl.pk}
