"""API operations for integrators (issue 18): reversals, credit notes, write-offs, contacts, reference data."""

import datetime as dt
from decimal import Decimal as D

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
    "api:payment-term-list": ("/api/v1/payment-terms/", OK_ALL, 401),
    "api:user-list": ("/api/v1/users/", OK_ALL, 401),
}


def objects(*, world, company, customer, users, finance) -> dict:
    note = ledger.issue_credit_note(company=company, customer_id=customer.pk, amount=D("1.00"), date=dt.date(2026, 1, 7),
                                    reason="折让", actor=finance, apply=False)
    return {"apicn": note.pk}
