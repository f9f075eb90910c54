"""URL × role rows of the banking app (see tests/e2e/access/__init__.py).

Cash application is finance work: admin and finance act, the auditor reads, everyone else gets 403
(a salesperson never sees bank lines, so there is no owner scoping to test here)."""

import datetime as dt
from decimal import Decimal as D

from tests.e2e.access import only, post_only

VIEW = only({"admin", "finance", "auditor"})
SETTINGS = only({"admin", "finance"})
CONFIRM = post_only({"admin", "finance"})
FORGET = post_only({"admin", "finance"})

ROWS = {
    "banking:index": ("/bank/", VIEW, 302),
    "banking:statement-export": ("/bank/statements.xlsx", VIEW, 302),
    "banking:account-new": ("/bank/accounts/new/", SETTINGS, 302),
    "banking:settings": ("/bank/settings/", SETTINGS, 302),
    "banking:upload": ("/bank/upload/", post_only({"admin", "finance"}), 302),
    "banking:statement": ("/bank/statements/{bst}/", VIEW, 302),
    "banking:statement-lines-export": ("/bank/statements/{bst}/lines.xlsx", VIEW, 302),
    "banking:reconciliation-export": ("/bank/statements/{bst}/reconciliation.xlsx", VIEW, 302),
    "banking:queue": ("/bank/queue/", VIEW, 302),
    "banking:queue-export": ("/bank/queue.xlsx", VIEW, 302),
    "banking:queue-confirm": ("/bank/queue/confirm/", CONFIRM, 302),
    "banking:line": ("/bank/lines/{bl}/", VIEW, 302),
    "banking:line-confirm": ("/bank/lines/{bl}/confirm/", CONFIRM, 302),
    "banking:line-apply": ("/bank/lines/{bl}/apply/", CONFIRM, 302),
    "banking:line-on-account": ("/bank/lines/{bl}/on-account/", CONFIRM, 302),
    "banking:line-ignore": ("/bank/lines/{bl}/ignore/", CONFIRM, 302),
    "banking:line-undo": ("/bank/lines/{bl}/undo/", CONFIRM, 302),
    "banking:charges": ("/bank/charges/", VIEW, 302),
    "banking:charges-export": ("/bank/charges.xlsx", VIEW, 302),
    "banking:aliases": ("/bank/aliases/", VIEW, 302),
    "banking:aliases-export": ("/bank/aliases.xlsx", VIEW, 302),
    "banking:alias-forget": ("/bank/aliases/{ba}/forget/", FORGET, 302),
}


def objects(*, world, company, customer, users, finance) -> dict:
    from huikuan.banking.models import BankAccount, BankAlias, BankLine, BankStatement

    acct = BankAccount.objects.create(company=company, bank="招商银行", account_number="AM-1", currency="CNY")
    st = BankStatement.objects.create(company=company, account=acct, source_format="camt053", file_name="a.xml",
                                      file_hash="x", total_lines=1, new_lines=1)
    line = BankLine.objects.create(company=company, account=acct, statement=st, date=dt.date(2026, 3, 2),
                                   amount=D("10.00"), counterparty_name="某人", dedupe_key="am", customer=customer,
                                   status="suggested",
                                   proposals=[{"customer_id": customer.pk, "customer_name": customer.name,
                                               "kind": "partial", "confidence": "0.4", "rest": "0", "allocations": [],
                                               "reasons": [["partial", {}]], "identity": []}])
    alias = BankAlias.objects.create(company=company, name="某人", customer=customer)
    return {"bst": st.pk, "bl": line.pk, "ba": alias.pk}
