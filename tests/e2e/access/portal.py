"""Customer portal (issue 17 part 1). Staff sessions get nothing on portal pages beyond sign-in (every
portal page sends them to the portal's own sign-in, as it does anonymous visitors); the staff pages of
the portal follow the customer's scope. The portal's own contact-by-contact matrix is in
huikuan/portal/tests/test_portal_access.py."""

import datetime as dt

from django.utils import timezone

from huikuan.customers.models import Contact
from huikuan.portal import actions
from huikuan.portal import services as portal

from . import GET_405, OK_ALL, OWN, STAFF, only

SIGNIN = {r: 302 for r in STAFF}
BANKING = only({"admin", "finance", "auditor"})  # banking.view  # a staff session is not a portal session
PAGE = {r: 200 for r in STAFF}

ROWS = {
    "portal:home": ("/portal/", SIGNIN, 302),
    "portal:signin": ("/portal/signin/", PAGE, 200),
    "portal:code": ("/portal/signin/code/", SIGNIN, 302),
    "portal:signout": ("/portal/signout/", GET_405, 405),
    "portal:link": ("/portal/in/{plink}/", {r: 200 for r in STAFF}, 200),
    "portal:account": ("/portal/c/{c}/", SIGNIN, 302),
    "portal:items-xlsx": ("/portal/c/{c}/items.xlsx", SIGNIN, 302),
    "portal:payments-xlsx": ("/portal/c/{c}/payments.xlsx", SIGNIN, 302),
    "portal:dispute": ("/portal/c/{c}/items/{i}/dispute/", SIGNIN, 302),
    "portal:promise": ("/portal/c/{c}/promise/", SIGNIN, 302),
    "portal:remittance": ("/portal/c/{c}/remittance/", SIGNIN, 302),
    "banking:hint-file": ("/bank/hints/{phint}/file/", BANKING, 302),
    "portal:statement-pdf": ("/portal/c/{c}/statements/{st}/pdf/", SIGNIN, 302),
    "portal:statement-xlsx": ("/portal/c/{c}/statements/{st}/xlsx/", SIGNIN, 302),
    "portal:statement-reply": ("/portal/c/{c}/statements/{st}/reply/", SIGNIN, 302),
    "portal:confirmed-pdf": ("/portal/c/{c}/statements/{st}/confirmed.pdf", SIGNIN, 302),
    "portal-staff:customer": ("/customers/{c}/portal/", OWN, 302),
    "portal-staff:invite": ("/portal-access/{pct}/invite/", GET_405, 302),
    "portal-staff:revoke": ("/portal-access/{pct}/revoke/", GET_405, 302),
    "portal-staff:confirmation-pdf": ("/portal-confirmations/{pconf}/pdf/", OWN, 302),
}
assert set(OK_ALL) == set(STAFF)


def objects(*, world, company, customer, users, finance) -> dict:
    contact = Contact.objects.create(customer=customer, name="门户联系人", email="portal.matrix@example.cn")
    access = portal.grant_access(actor=finance, contact_id=contact.pk)
    from django.db import transaction

    with transaction.atomic():
        link = portal.issue_token(access=access, purpose="invite", now=timezone.now())
    conf = actions.reply_to_statement(access=access, statement_id=world["st"], agree=True, signer_name="门户联系人",
                                      now=timezone.now(), today=dt.date(2026, 2, 2), ip="127.0.0.1")
    from django.core.files.uploadedfile import SimpleUploadedFile

    hint = actions.send_remittance_advice(
        access=access, customer_id=customer.pk, amount="100.00", paid_on=dt.date(2026, 2, 2), today=dt.date(2026, 2, 2),
        upload=SimpleUploadedFile("shuidan.pdf", b"%PDF-1.4 receipt", content_type="application/pdf"))
    return {"pct": contact.pk, "plink": link.secret, "pconf": conf.pk, "phint": hint.pk}
