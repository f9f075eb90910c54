"""The evidence pack a bank asks for before financing receivables (保理 / 应收账款质押): one ZIP per selection.

Contents (paths inside the ZIP):
  items.csv                     one row per item: customer (code, name, 统一社会信用代码), document number, kind,
                                contract / order reference, dates, amount, open amount, fapiao numbers, the
                                statement confirmation that covers it, and the financing mark if any
  fapiao.csv                    the fapiao recorded against those documents (number, type, date, amount, status)
  statements/<number>.pdf       per covering confirmed statement: the PDF as confirmed in the portal (stamped)
                                or, for a reply recorded on paper, the PDF as issued
  statements/<number>-reply.*   the scanned paper reply, when one was recorded
  delivery/<customer>/<file>    the customer's stored proofs of delivery (签收单) naming one of the documents
  manifest.csv                  every file above with its size and SHA-256, and what it proves

An item is "covered" by the customer's latest confirmed statement whose period ends on or after the item's
document date (the same rule as the ``confirmed_only`` criterion). Reads only; nothing is written.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections import defaultdict
from collections.abc import Callable

from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from huikuan.common.errors import DomainError
from huikuan.common.export import iter_csv

from .models import FinancedItem

MAX_ITEMS = 1000
# ``f(statement_ids) -> {statement_id: (pdf bytes, sha256)}`` for statements confirmed in the customer portal;
# the portal app registers its lookup in ready() (this layer cannot import the portal)
CONFIRMED_PDF_PROVIDERS: list[Callable[[list[int]], dict]] = []


class EvidenceError(DomainError):
    code = "financing_evidence"


def _csv(columns, rows) -> bytes:
    return "".join(iter_csv(columns=columns, rows=rows)).encode("utf-8")


def _safe(name: str) -> str:
    return get_valid_filename(str(name).replace("/", "-")) or "file"


def build_zip(*, company, instalment_ids) -> bytes:
    """The evidence ZIP for the instalments ``instalment_ids`` of ``company`` (all must exist, at most
    ``MAX_ITEMS``); EvidenceError otherwise."""
    from huikuan.customers.models import CustomerFile, DocumentKind
    from huikuan.ledger.models import Fapiao, Instalment
    from huikuan.statements.models import IssuedCopy, ReplyStatus, Statement

    ids = sorted({int(i) for i in instalment_ids})
    if not ids:
        raise EvidenceError(_("Select at least one item."), field="items")
    if len(ids) > MAX_ITEMS:
        raise EvidenceError(_("Select at most %(n)s items for one evidence pack.") % {"n": MAX_ITEMS}, field="items")
    items = list(Instalment.objects.filter(company=company, pk__in=ids).select_related("customer", "document")
                 .order_by("customer_id", "due_date", "pk"))
    if len(items) != len(ids):
        raise EvidenceError(_("Unknown item."), field="items")
    doc_ids = {i.document_id for i in items}
    customer_ids = {i.customer_id for i in items}

    fapiaos = defaultdict(list)
    fapiao_rows = list(Fapiao.objects.filter(company=company, document_id__in=doc_ids).order_by("issue_date", "pk"))
    for f in fapiao_rows:
        fapiaos[f.document_id].append(f)
    financed = {f.instalment_id: f for f in FinancedItem.objects.filter(instalment_id__in=ids, released_on__isnull=True)}
    statements = defaultdict(list)  # customer → confirmed statements, latest period first
    for st in (Statement.objects.filter(company=company, customer_id__in=customer_ids, status=ReplyStatus.CONFIRMED)
               .order_by("-period_to", "-pk")):
        statements[st.customer_id].append(st)

    def covering(inst):
        return next((st for st in statements[inst.customer_id] if st.period_to >= inst.document_date), None)

    cover = {i.pk: covering(i) for i in items}
    used = {st.pk: st for st in cover.values() if st is not None}
    portal = {}
    for provider in CONFIRMED_PDF_PROVIDERS if used else ():
        portal.update(provider(list(used)))
    issued = {c.statement_id: c for c in IssuedCopy.objects.filter(statement_id__in=[k for k in used if k not in portal])}

    files: list[tuple[str, bytes, str]] = []  # (path, content, what it proves)
    st_sha = {}
    for st in sorted(used.values(), key=lambda s: s.pk):
        base = f"statements/{_safe(st.number)}"
        pdf = None
        if st.pk in portal:
            pdf = bytes(portal[st.pk][0])
            files.append((f"{base}.pdf", pdf, _("Statement confirmed in the portal (stamped PDF)")))
        elif st.pk in issued:
            pdf = bytes(issued[st.pk].pdf)
            files.append((f"{base}.pdf", pdf, _("Statement as issued; confirmed by %(who)s on %(date)s")
                          % {"who": st.replied_by or "-", "date": st.replied_on or "-"}))
        st_sha[st.pk] = hashlib.sha256(pdf).hexdigest() if pdf is not None else ""
        if st.reply_scan:
            with st.reply_scan.open("rb") as fh:
                ext = st.reply_scan.name.rsplit(".", 1)[-1][:8] if "." in st.reply_scan.name else "bin"
                files.append((f"{base}-reply.{_safe(ext)}", fh.read(), _("Scanned statement reply")))

    numbers = {i.document.number for i in items}
    for f in CustomerFile.objects.filter(customer_id__in=customer_ids, kind=DocumentKind.DELIVERY).select_related("customer").order_by("pk"):
        named = [n for n in numbers if n and n in f.title]
        if not named:
            continue
        with f.file.open("rb") as fh:
            files.append((f"delivery/{_safe(f.customer.code)}/{f.pk}-{_safe(f.file.name.rsplit('/', 1)[-1])}", fh.read(),
                          _("Proof of delivery for %(docs)s") % {"docs": ", ".join(sorted(named))}))

    item_cols = [(_("Customer code"), "text"), (_("Customer"), "text"), (_("Unified social credit code"), "text"),
                 (_("Document"), "text"), (_("Instalment"), "int"), (_("Kind"), "text"),
                 (_("Contract / order reference"), "text"), (_("Document date"), "date"), (_("Due date"), "date"),
                 (_("Amount"), "money"), (_("Open amount"), "money"), (_("Fapiao"), "text"),
                 (_("Confirmed statement"), "text"), (_("Confirmed on"), "date"), (_("Statement SHA-256"), "text"),
                 (_("Bank"), "text"), (_("Financed on"), "date"), (_("Financed amount"), "money")]
    item_rows = []
    for i in items:
        st, fin = cover[i.pk], financed.get(i.pk)
        item_rows.append([
            i.customer.code, i.customer.name, i.customer.credit_code, i.document.number, i.seq,
            i.document.get_kind_display(), i.document.reference, i.document_date, i.due_date, i.amount, i.open_amount,
            " ".join(f.number for f in fapiaos[i.document_id]), st.number if st else "",
            st.replied_on if st else None, st_sha.get(st.pk, "") if st else "",
            fin.bank if fin else "", fin.financed_on if fin else None, fin.amount if fin else None])
    fapiao_cols = [(_("Document"), "text"), (_("Fapiao number"), "text"), (_("Type"), "text"), (_("Issue date"), "date"),
                   (_("Amount incl. tax"), "money"), (_("Status"), "text")]
    by_doc = {i.document_id: i.document.number for i in items}
    fapiao_csv = _csv(fapiao_cols, ([by_doc[f.document_id], f.number, f.get_fapiao_type_display(), f.issue_date, f.amount,
                                     f.get_status_display()] for f in fapiao_rows))
    files = [("items.csv", _csv(item_cols, item_rows), _("The items, one per row")),
             ("fapiao.csv", fapiao_csv, _("Fapiao recorded against the documents")), *files]

    manifest_cols = [(_("File"), "text"), (_("Bytes"), "int"), (_("SHA-256"), "text"), (_("Content"), "text")]
    manifest = _csv(manifest_cols, ([path, len(content), hashlib.sha256(content).hexdigest(), str(what)]
                                    for path, content, what in files))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path, content, _what in files:
            zf.writestr(path, content)
        zf.writestr("manifest.csv", manifest)
    return out.getvalue()
