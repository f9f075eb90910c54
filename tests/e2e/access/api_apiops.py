"""API operations of issue 18 (apiops): contacts of all customers (sync), the customer upsert by external key,
payment plans, the contact log, tasks, escalation cases, credit profiles, scores, holds, held-order decisions and
credit requests, fapiao, dunning notices and bank statements. Plans, cases, tasks ({pl}, {cs}, {tk}) come from collections.py, the order and the credit request
({so}, {cr}) and the customer's credit profile (its rescore) from credit.py, the fapiao {f} from the matrix's world,
the notice {dn} from dunning.py, the statement and line {bst}, {bl} from banking.py."""

from huikuan.customers.models import Customer

from . import GET_405, OK_ALL, OWN, only

BANK_VIEW = only({"admin", "finance", "auditor"})

ROWS = {
    "api:contact-sync-list": ("/api/v1/contacts/", OK_ALL, 401),
    "api:customer-by-external-key": ("/api/v1/customers/by-external-key/{apixk}/", OWN, 401),
    "api:payment-plan-list": ("/api/v1/payment-plans/", OK_ALL, 401),
    "api:payment-plan-detail": ("/api/v1/payment-plans/{pl}/", OWN, 401),
    "api:payment-plan-decide": ("/api/v1/payment-plans/{pl}/decision/", GET_405, 401),
    "api:activity-list": ("/api/v1/activities/", OK_ALL, 401),
    "api:task-list": ("/api/v1/tasks/", OK_ALL, 401),
    "api:task-complete": ("/api/v1/tasks/{tk}/complete/", GET_405, 401),
    "api:case-list": ("/api/v1/cases/", OK_ALL, 401),
    "api:case-detail": ("/api/v1/cases/{cs}/", OWN, 401),
    "api:credit-profile-list": ("/api/v1/credit-profiles/", OK_ALL, 401),
    "api:credit-profile-detail": ("/api/v1/customers/{c}/credit-profile/", OWN, 401),
    "api:score-list": ("/api/v1/customers/{c}/scores/", OWN, 401),
    "api:credit-hold-place": ("/api/v1/customers/{c}/credit-hold/", GET_405, 401),
    "api:credit-hold-release": ("/api/v1/customers/{c}/credit-hold/release/", GET_405, 401),
    "api:order-decide": ("/api/v1/orders/{so}/decision/", GET_405, 401),
    "api:credit-request-list": ("/api/v1/credit-requests/", OK_ALL, 401),
    "api:credit-request-detail": ("/api/v1/credit-requests/{cr}/", OWN, 401),
    "api:credit-request-decide": ("/api/v1/credit-requests/{cr}/decision/", GET_405, 401),
    "api:fapiao-list": ("/api/v1/fapiao/", OK_ALL, 401),
    "api:fapiao-detail": ("/api/v1/fapiao/{f}/", OWN, 401),
    "api:fapiao-red-reverse": ("/api/v1/fapiao/{f}/red-reverse/", GET_405, 401),
    "api:dunning-notice-list": ("/api/v1/dunning-notices/", OK_ALL, 401),
    "api:dunning-notice-detail": ("/api/v1/dunning-notices/{dn}/", OWN, 401),
    "api:bank-statement-list": ("/api/v1/bank-statements/", BANK_VIEW, 401),
    "api:bank-statement-detail": ("/api/v1/bank-statements/{bst}/", BANK_VIEW, 401),
    "api:bank-line-list": ("/api/v1/bank-lines/", BANK_VIEW, 401),
    "api:bank-line-match": ("/api/v1/bank-lines/match/", GET_405, 401),
    "api:bank-line-detail": ("/api/v1/bank-lines/{bl}/", BANK_VIEW, 401),
    "api:bank-line-confirm": ("/api/v1/bank-lines/{bl}/confirm/", GET_405, 401),
}


def objects(*, world, company, customer, users, finance) -> dict:
    Customer.objects.filter(pk=customer.pk).update(external_source="api", external_key="crm:access-1")
    return {"apixk": "crm:access-1"}
