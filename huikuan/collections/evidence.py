"""The evidence pack of an escalation case: one PDF (WeasyPrint, CJK font as statements/pdf.py) and a ZIP.

PDF: the case, the creditor and debtor, the claimed items (documents with contract references and due
dates), the statements issued with their confirmations, the payment history, written demands, every
notice and the full contact log (activities, and the notices the dunning app recorded on the customer's
audit trail), with each item's limitation date (诉讼时效) and the event that set it. ZIP: that PDF, the
customer's files (contracts, guarantees…), the issued statements as PDFs, the proofs of delivery of written
demands recorded by hand and the contact log as CSV.
"""

from __future__ import annotations

import io
import zipfile

from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from huikuan.common import audit
from huikuan.common.export import iter_csv
from huikuan.common.models import AuditEvent
from huikuan.customers.models import CustomerFile
from huikuan.ledger.models import Credit, Status
from huikuan.statements.models import Statement
from huikuan.statements.selectors import limitation

from .interest import interest_to_date
from .limitation import customer_items
from .models import Activity, Case, WrittenDemand

MAX_STATEMENT_PDFS = 6


def evidence_context(*, case: Case, as_of) -> dict:
    customer = case.customer
    items = list(case.instalments.select_related("document").order_by("due_date", "pk"))
    if not items:  # a case without chosen items claims everything open
        from huikuan.ledger.models import Instalment

        items = list(Instalment.objects.filter(customer=customer, open_amount__gt=0).select_related("document")
                     .order_by("due_date", "pk"))
    per_item = {x.instalment.pk: x for x in customer_items(customer=customer, as_of=as_of)}
    for i in items:  # the limitation date of each claimed item and the event that set it (None once settled)
        i.lim = per_item.get(i.pk)
    events = list(AuditEvent.objects.filter(customer_id=customer.pk)
                  .filter(Q(verb__startswith="dunning.") | Q(verb__startswith="statement.")
                          | Q(verb="collections.demand.recorded")).order_by("at", "id"))
    # described in the reader's language (what happened, with its detail), never the raw event code
    notices = list(zip((e.at for e in events), audit.describe(events), strict=True))
    return {
        "case": case, "customer": customer, "company": case.company, "as_of": as_of, "generated_at": timezone.now(),
        "items": items, "claimed": sum((i.open_amount for i in items), 0),
        "interest": interest_to_date(customer=customer, as_of=as_of),
        "statements": Statement.objects.filter(customer=customer).order_by("period_to", "pk"),
        "payments": Credit.objects.filter(customer=customer).order_by("date", "pk"),
        "demands": WrittenDemand.objects.filter(customer=customer).order_by("date", "pk"),
        "activities": Activity.objects.filter(customer=customer).select_related("actor").order_by("occurred_at", "pk"),
        "notices": notices,
        "files": CustomerFile.objects.filter(customer=customer).order_by("pk"),
        "limitation": limitation(customer=customer, as_of=as_of),
        "posted": Status.POSTED,
    }


def evidence_pdf(*, case: Case, as_of) -> bytes:
    from weasyprint import HTML

    html = render_to_string("collections/evidence_pdf.html", evidence_context(case=case, as_of=as_of))
    return HTML(string=html).write_pdf()


def evidence_zip(*, case: Case, as_of, user) -> bytes:
    from huikuan.statements.services import issued_pdf

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"{case.number}-evidence.pdf", evidence_pdf(case=case, as_of=as_of))
        for f in CustomerFile.objects.filter(customer=case.customer).order_by("pk"):
            try:
                with f.file.open("rb") as fh:
                    z.writestr(f"files/{f.pk}-{f.file.name.rsplit('/', 1)[-1]}", fh.read())
            except (FileNotFoundError, OSError):
                z.writestr(f"files/{f.pk}-MISSING.txt", f"{f.title}: file not found in storage\n")
        for st in (Statement.objects.filter(customer=case.customer).select_related("customer", "company")
                   .order_by("-period_to", "-pk")[:MAX_STATEMENT_PDFS]):
            # the statements as they were issued (the customer holds these), not re-rendered today
            z.writestr(f"statements/{st.number}.pdf", issued_pdf(statement=st, user=user))
        for d in WrittenDemand.objects.filter(customer=case.customer).exclude(proof="").order_by("date", "pk"):
            try:  # the proof of delivery of each written demand recorded by hand
                with d.proof.open("rb") as fh:
                    z.writestr(f"demands/{d.date}-{d.pk}-{d.proof.name.rsplit('/', 1)[-1]}", fh.read())
            except (FileNotFoundError, OSError):
                z.writestr(f"demands/{d.date}-{d.pk}-MISSING.txt", f"{d.reference}: file not found in storage\n")
        z.writestr("contact-log.csv", "".join(contact_log_csv(case.customer)))
    return buf.getvalue()


def contact_log_csv(customer):
    """The contact log as CSV text chunks, through the export guard every export uses (formula text
    neutralised, BOM for Excel), headers and kinds/outcomes in the reader's language."""
    rows = (
        (a.occurred_at, a.get_kind_display(),
         a.get_outcome_display() if a.outcome else "", a.contact_name, a.note, a.next_action_date, str(a.actor or ""))
        for a in Activity.objects.filter(customer=customer).select_related("actor").order_by("occurred_at", "pk"))
    return iter_csv(columns=[(_("When"), "date"), (_("Kind"), "text"), (_("Outcome"), "text"), (_("Contact"), "text"),
                             (_("Note"), "text"), (_("Next action"), "date"), (_("By"), "text")], rows=rows)
