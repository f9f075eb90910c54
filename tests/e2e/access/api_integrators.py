"""API operations for integrators (issue 18): reversals, credit notes, write-offs, contacts, reference data."""

import datetime as dt
from decimal import Decimal as D

from huikuan.collections import services as coll
from huikuan.ledger import services as ledger

from . import GET_405, OK_ALL, OWN

ROWS = {
    "api:contact-detail": ("/api/v1/customers/{c}/contacts/{ct}/", OWN, 401),
    "api:document-reverse": ("/api/v1/documents/{d}/reverse/", GET_405, 401),
    "api:payment-reverse": ("/api/v1/payments/{p}/reverse/", GET_405, 401),
    "api:allocation-reverse": ("/api/v1/payments/{p}/allocations/{a}/reverse/", GET_405, 401),
    "api:credit-note-detail": ("/api/v1/credit-notes/{apicn}/", OWN, 401),
    "api:write-off-list": ("/api/v1/write-offs/", OK_ALL, 401),
    "api:write-off-detail": ("/api/v1/write-offs/{w}/", OWN, 401),
    "api:write-off-decide": ("/api/v1/write-offs/{w}/decision/", GET_405, 401),
    "api:promise-list": ("/api/v1/promises/", OK_ALL, 401),
    "api:promise-detail": ("/api/v1/promises/{apipr}/", OWN, 401),
    "api:dispute-list": ("/api/v1/disputes/", OK_ALL, 401),
    "api:dispute-detail": ("/api/v1/disputes/{apids}/", OWN, 401),
    "api:payment-term-list": ("/api/v1/payment-terms/", OK_ALL, 401),
    "api:user-list": ("/api/v1/users/", OK_ALL, 401),
}


def objects(*, world, company, customer, users, finance) -> dict:
    note = ledger.issue_credit_note(company=company, customer_id=customer.pk, amount=D("1.00"), date=dt.date(2026, 1, 7),
                                    reason="折让", actor=finance, apply=False)
    promise = coll.record_promise(company=company, customer_id=customer.pk, amount=D("10.00"),
                                  promised_date=dt.date(2026, 12, 31), today=dt.date(2026, 12, 1), actor=finance)
    dispute = coll.open_dispute(company=company, customer_id=customer.pk, reason="price", amount=D("3.00"),
                                actor=finance, today=dt.date(2026, 12, 1), document_id=world["d"])
    return {"apicn": note.pk, "apipr": promise.pk, "apids": dispute.pk}
