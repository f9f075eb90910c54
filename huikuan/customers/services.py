"""Every write to the customer master.

Each public service is one durable transaction (never call it inside another atomic block), locks
the customer row first (the project-wide order starts with the customer), checks the actor's
permission and visibility, records an audit event in the same transaction and raises a
``CustomerError``/``NotAllowed``/``ConcurrentChange`` (all ``DomainError``) with a translated message
and, where one input is at fault, its ``field``. Nothing is ever deleted: customers are closed by
status, contacts are deactivated.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone as dj_timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext_lazy as _

from huikuan.accounts.models import Role, User
from huikuan.accounts.scoping import owner_q
from huikuan.common import audit
from huikuan.common.identifiers import normalise_phone, pinyin_full, pinyin_initials, uscc_problem
from huikuan.common.money import MINOR_UNITS

from .errors import (
    ConcurrentChange,
    CurrencyLocked,
    DuplicateCode,
    InvalidField,
    InvalidTerms,
    InvalidUpload,
    NotAllowed,
)
from .models import (
    Channel,
    Contact,
    Customer,
    CustomerFile,
    CustomerGroup,
    CustomerStatus,
    DocumentKind,
    PaymentTerm,
    TermKind,
)

SALES_ROLES = (Role.SALESPERSON, Role.SALES_MANAGER)

# Fields a clerk edits on the customer form (the ledger owns the balances).
CUSTOMER_FIELDS = (
    "code",
    "name",
    "short_name",
    "credit_code",
    "group",
    "parent",
    "region",
    "industry",
    "address",
    "owner",
    "payment_term",
    "currency",
    "status",
)
CONTACT_FIELDS = (
    "name",
    "title",
    "phone",
    "email",
    "wechat_id",
    "preferred_channel",
    "language",
    "is_primary",
)


# ---------------------------------------------------------------- helpers


def _require(actor, perm: str) -> None:
    if actor is None or not actor.can(perm):
        raise NotAllowed(_("You are not allowed to do this."))


def _lock_customer(*, customer_id: int, actor, company_id: int | None = None) -> Customer:
    """Lock the customer row (SELECT … FOR UPDATE) if the actor may see it, else refuse."""
    qs = Customer.objects.select_for_update(of=("self",)).filter(owner_q(actor, "owner"))
    if company_id is not None:
        qs = qs.filter(company_id=company_id)
    try:
        return qs.get(pk=customer_id)
    except Customer.DoesNotExist as exc:
        raise NotAllowed(_("This customer does not exist or is not visible to you.")) from exc


def assignable_owners(*, company, actor):
    """Users the actor may set as a customer's owner: sales roles of the company, narrowed by role.

    A salesperson may only assign themselves; a sales manager their team (and themselves).
    """
    qs = User.objects.filter(companies=company, role__in=SALES_ROLES, is_active=True)
    if actor.role == Role.SALESPERSON:
        return qs.filter(pk=actor.pk)
    if actor.role == Role.SALES_MANAGER:
        if actor.team_id is None:
            return qs.filter(pk=actor.pk)
        from django.db.models import Q

        return qs.filter(Q(team_id=actor.team_id) | Q(pk=actor.pk))
    return qs.order_by("display_name", "username")


def _clean_text(value, *, field: str, required: bool = False, max_length: int | None = None) -> str:
    text = (value or "").strip()
    if required and not text:
        raise InvalidField(_("This field is required."), field=field)
    if max_length is not None and len(text) > max_length:
        raise InvalidField(
            _("Ensure this value has at most %(max)d characters.") % {"max": max_length}, field=field
        )
    return text


def _initials(name: str, short_name: str) -> str:
    parts = [pinyin_initials(name)]
    if short_name:
        parts.append(pinyin_initials(short_name))
    return " ".join(p for p in parts if p)[:120]


def _pinyin(name: str, short_name: str) -> str:
    return " ".join(p for p in (pinyin_full(name), pinyin_full(short_name)) if p)[:400]


def _validate_customer(*, company, actor, values: dict, instance: Customer | None) -> dict:
    """Normalise and check the editable fields; returns the cleaned values. Raises InvalidField."""
    out = dict(values)
    max_len = {
        f.name: getattr(f, "max_length", None)
        for f in Customer._meta.get_fields()
        if hasattr(f, "max_length")
    }
    for name in ("code", "name", "short_name", "region", "industry", "address"):
        if name in out:
            out[name] = _clean_text(
                out[name], field=name, required=name in ("code", "name"), max_length=max_len.get(name)
            )
    if "credit_code" in out:
        code = (out["credit_code"] or "").strip().upper()
        problem = uscc_problem(code) if code else None
        if problem == "org_check":
            raise InvalidField(
                _("This is not a valid unified social credit code: the organisation code in characters 9–17 "
                  "fails its check character (GB 11714)."),
                field="credit_code",
            )
        if problem:
            raise InvalidField(
                _("This is not a valid unified social credit code (check the 18 characters)."),
                field="credit_code",
            )
        out["credit_code"] = code
    if "currency" in out:
        currency = (out["currency"] or "").strip().upper()
        if currency not in MINOR_UNITS:
            raise InvalidField(_("Unsupported currency."), field="currency")
        out["currency"] = currency
    if "status" in out and out["status"] not in CustomerStatus.values:
        raise InvalidField(_("Unknown status."), field="status")
    group = out.get("group")
    if group is not None and group.company_id != company.pk:
        raise InvalidField(_("Choose a group of this company."), field="group")
    term = out.get("payment_term")
    if term is not None and term.company_id != company.pk:
        raise InvalidField(_("Choose payment terms of this company."), field="payment_term")
    parent = out.get("parent")
    if parent is not None:
        if parent.company_id != company.pk:
            raise InvalidField(_("Choose a parent customer of this company."), field="parent")
        if instance is not None:
            # Walk up from the proposed parent; meeting the customer itself would make a cycle.
            seen, node_id = set(), parent.pk
            while node_id is not None and node_id not in seen:
                if node_id == instance.pk:
                    raise InvalidField(_("A customer cannot be its own parent."), field="parent")
                seen.add(node_id)
                node_id = Customer.objects.filter(pk=node_id).values_list("parent_id", flat=True).first()
    if "owner" in out:
        owner = out["owner"]
        if owner is None and actor.role in SALES_ROLES:
            # Sales staff own what they create; an unowned customer would drop out of their scope.
            owner = actor
        if (
            owner is not None
            and not assignable_owners(company=company, actor=actor).filter(pk=owner.pk).exists()
        ):
            raise InvalidField(_("You cannot assign this customer to that salesperson."), field="owner")
        out["owner"] = owner
    return out


def _code_taken(*, company, code: str, exclude_pk: int | None = None) -> bool:
    qs = Customer.objects.filter(company=company, code=code)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return qs.exists()


def _duplicate(code: str) -> DuplicateCode:
    return DuplicateCode(
        _("Customer code %(code)s is already used in this company.") % {"code": code}, field="code"
    )


# ---------------------------------------------------------------- terms control

# The credit app (a higher layer) registers the control that keeps a customer's payment terms within
# its grade's maximum: ``control(customer=, term=, actor=, channel=)`` returns None when the terms may
# be set directly, or the approval request it recorded instead (the terms then stay as they were).
_TERMS_CONTROLS: list[Callable] = []


def register_terms_control(control: Callable) -> None:
    if control not in _TERMS_CONTROLS:
        _TERMS_CONTROLS.append(control)


def _terms_deferred(*, customer: Customer, term: PaymentTerm, actor, channel: str):
    for control in _TERMS_CONTROLS:
        deferred = control(customer=customer, term=term, actor=actor, channel=channel)
        if deferred is not None:
            return deferred
    return None


@transaction.atomic
def set_approved_terms(*, customer: Customer, term: PaymentTerm, actor, request_id: int) -> Customer:
    """Set the customer's default payment terms from an approved request (called by the credit app
    inside its own transaction, with the customer already locked). No terms control: this *is* the
    approval."""
    if term.company_id != customer.company_id:
        raise InvalidField(_("Choose payment terms of this company."), field="payment_term")
    before = customer.payment_term_id
    if before == term.pk:
        return customer
    customer.payment_term = term
    customer.version = customer.version + 1
    customer.save(update_fields=["payment_term", "version", "updated_at"])
    audit.record(actor=actor, verb="customers.customer.updated", target=customer, customer_id=customer.pk,
                 summary=str(customer),
                 data={"before": {"payment_term": before}, "after": {"payment_term": term.pk},
                       "version": customer.version, "request": request_id})
    return customer


@transaction.atomic
def net_terms(*, company, days: int, actor) -> PaymentTerm:
    """The company's active plain "net N days" terms, created (``NET<N>``) when there are none —
    what an approved terms request given in days puts on the customer."""
    term = (PaymentTerm.objects.filter(company=company, kind=TermKind.NET, days=days, active=True,
                                       discount_percent=0, split_lines=[])
            .order_by("pk").first())
    if term is not None:
        return term
    code, n = f"NET{days}", 1
    while PaymentTerm.objects.filter(company=company, code=code).exists():
        n += 1
        code = f"NET{days}-{n}"
    term = PaymentTerm.objects.create(company=company, code=code, name=f"Net {days}", kind=TermKind.NET, days=days)
    audit.record(actor=actor, verb="customers.terms.created", target=term, company_id=company.pk, summary=term.name,
                 data={"code": code, "kind": TermKind.NET, "days": days})
    return term


# ---------------------------------------------------------------- customers


@transaction.atomic(durable=True)
def create_customer(
    *,
    company,
    actor,
    code: str,
    name: str,
    short_name: str = "",
    credit_code: str = "",
    group: CustomerGroup | None = None,
    parent: Customer | None = None,
    region: str = "",
    industry: str = "",
    address: str = "",
    owner: User | None = None,
    payment_term: PaymentTerm | None = None,
    currency: str = "CNY",
    status: str = CustomerStatus.ACTIVE,
    channel: str = "web",
    external_source: str = "",
    external_key: str = "",
) -> Customer:
    """Create a customer of ``company``. A salesperson becomes the owner of what they create.

    Payment terms beyond what the registered terms control allows (the credit grade's maximum) are
    not set: the control records an approval request instead, left on ``customer.terms_request``.
    ``channel`` (web | api | import) says where the change came from, for that request.
    ``external_source``/``external_key``: the id another system gives the customer (unique per source;
    the API answers a taken key before calling this).

    Raises NotAllowed (no ``customer.edit``), InvalidField (bad USCC, currency, foreign group/terms/
    parent, owner the actor may not assign) or DuplicateCode (code used in this company).
    """
    _require(actor, "customer.edit")
    values = _validate_customer(
        company=company,
        actor=actor,
        instance=None,
        values=dict(
            code=code,
            name=name,
            short_name=short_name,
            credit_code=credit_code,
            group=group,
            parent=parent,
            region=region,
            industry=industry,
            address=address,
            owner=owner,
            payment_term=payment_term,
            currency=currency,
            status=status,
        ),
    )
    if _code_taken(company=company, code=values["code"]):
        raise _duplicate(values["code"])
    try:
        with transaction.atomic():
            customer = Customer.objects.create(
                company=company, name_initials=_initials(values["name"], values["short_name"]),
                name_pinyin=_pinyin(values["name"], values["short_name"]),
                external_source=external_source, external_key=external_key, **values
            )
    except IntegrityError as exc:  # a concurrent insert of the same code
        raise _duplicate(values["code"]) from exc
    customer.terms_request = None
    if customer.payment_term is not None:
        deferred = _terms_deferred(customer=customer, term=customer.payment_term, actor=actor, channel=channel)
        if deferred is not None:
            customer.payment_term = None
            customer.save(update_fields=["payment_term"])
            customer.terms_request = deferred
    audit.record(
        actor=actor,
        verb="customers.customer.created",
        target=customer,
        customer_id=customer.pk,
        summary=str(customer),
        data={f: _audit_value(getattr(customer, f)) for f in CUSTOMER_FIELDS},
    )
    return customer


def _audit_value(value):
    if hasattr(value, "pk"):
        return value.pk
    return value


@transaction.atomic(durable=True)
def update_customer(*, customer_id: int, actor, expected_version: int, channel: str = "web", **changes) -> Customer:
    """Change editable fields of a customer the actor can see.

    New payment terms beyond what the registered terms control allows (the credit grade's maximum)
    are not set: an approval request is recorded instead and left on ``customer.terms_request``; the
    other changes are saved.

    ``expected_version`` is the ``version`` the clerk's form was rendered with; if someone saved in
    between, ConcurrentChange is raised and nothing is written. The version is bumped on every
    effective change. The currency cannot change once the customer has ledger documents
    (CurrencyLocked). The audit event holds before/after of the changed fields only.
    """
    _require(actor, "customer.edit")
    unknown = set(changes) - set(CUSTOMER_FIELDS)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    customer = _lock_customer(customer_id=customer_id, actor=actor)
    if customer.version != expected_version:
        raise ConcurrentChange(
            _(
                "Someone else changed this customer while you were editing. Reload the page and apply your changes again."
            )
        )
    company = customer.company
    if "owner" in changes:
        wanted = changes["owner"]
        if (wanted.pk if wanted is not None else None) == customer.owner_id or (
            wanted is None and actor.role in SALES_ROLES
        ):
            # Keeping the current owner needs no assignment right (it may be someone the actor
            # could not pick, e.g. a colleague of a sales manager's team who has since moved).
            del changes["owner"]
    values = _validate_customer(company=company, actor=actor, values=changes, instance=customer)
    before, after = {}, {}
    for field, new in values.items():
        old = getattr(customer, field)
        old_key = old.pk if hasattr(old, "pk") else old
        new_key = new.pk if hasattr(new, "pk") else new
        if old_key != new_key:
            before[field] = _audit_value(old)
            after[field] = _audit_value(new)
            setattr(customer, field, new)
    customer.terms_request = None
    if after.get("payment_term") is not None:
        deferred = _terms_deferred(customer=customer, term=values["payment_term"], actor=actor, channel=channel)
        if deferred is not None:
            customer.payment_term_id = before.pop("payment_term")
            after.pop("payment_term")
            customer.terms_request = deferred
    if not after:
        return customer
    if "currency" in after and customer.documents.exists():
        raise CurrencyLocked(
            _("The currency cannot change: this customer already has receivable documents."), field="currency"
        )
    if "code" in after and _code_taken(company=company, code=customer.code, exclude_pk=customer.pk):
        raise _duplicate(customer.code)
    if "name" in after or "short_name" in after:
        customer.name_initials = _initials(customer.name, customer.short_name)
        customer.name_pinyin = _pinyin(customer.name, customer.short_name)
    customer.version = customer.version + 1
    fields = [*after, "name_initials", "name_pinyin", "version", "updated_at"]
    try:
        with transaction.atomic():
            customer.save(update_fields=fields)
    except IntegrityError as exc:
        raise _duplicate(customer.code) from exc
    audit.record(
        actor=actor,
        verb="customers.customer.updated",
        target=customer,
        customer_id=customer.pk,
        summary=str(customer),
        data={"before": before, "after": after, "version": customer.version},
    )
    return customer


@transaction.atomic(durable=True)
def create_group(*, company, actor, name: str) -> CustomerGroup:
    """Create a customer group (name unique per company; InvalidField otherwise)."""
    _require(actor, "customer.edit")
    name = _clean_text(name, field="name", required=True, max_length=100)
    if CustomerGroup.objects.filter(company=company, name=name).exists():
        raise InvalidField(_("A group with this name already exists."), field="name")
    try:
        with transaction.atomic():
            group = CustomerGroup.objects.create(company=company, name=name)
    except IntegrityError as exc:
        raise InvalidField(_("A group with this name already exists."), field="name") from exc
    audit.record(
        actor=actor, verb="customers.group.created", target=group, company_id=company.pk, summary=name
    )
    return group


# ---------------------------------------------------------------- contacts


def _validate_contact(values: dict) -> dict:
    out = dict(values)
    if "name" in out:
        out["name"] = _clean_text(out["name"], field="name", required=True, max_length=100)
    for name, length in (("title", 60), ("wechat_id", 60)):
        if name in out:
            out[name] = _clean_text(out[name], field=name, max_length=length)
    if "phone" in out:
        try:
            out["phone"] = normalise_phone(out["phone"] or "")
        except ValueError as exc:
            raise InvalidField(
                _("Enter a valid phone number (mobile or landline with area code)."), field="phone"
            ) from exc
    if "email" in out:
        email = (out["email"] or "").strip()
        if email:
            try:
                validate_email(email)
            except ValidationError as exc:
                raise InvalidField(_("Enter a valid email address."), field="email") from exc
        out["email"] = email
    if "preferred_channel" in out and out["preferred_channel"] not in Channel.values:
        raise InvalidField(_("Unknown channel."), field="preferred_channel")
    if "language" in out and out["language"] not in dict(settings.LANGUAGES):
        raise InvalidField(_("Unknown language."), field="language")
    if "is_primary" in out:
        out["is_primary"] = bool(out["is_primary"])
    return out


def _unset_other_primaries(contact: Contact) -> None:
    if contact.is_primary:
        Contact.objects.filter(customer_id=contact.customer_id, is_primary=True).exclude(
            pk=contact.pk
        ).update(is_primary=False, updated_at=dj_timezone.now())


@transaction.atomic(durable=True)
def add_contact(
    *,
    customer_id: int,
    actor,
    name: str,
    title: str = "",
    phone: str = "",
    email: str = "",
    wechat_id: str = "",
    preferred_channel: str = Channel.PHONE,
    language: str = "zh-hans",
    is_primary: bool = False,
) -> Contact:
    """Add a contact; the phone is stored in E.164 (InvalidField on ``phone`` when it is not valid).

    Marking a contact primary clears the flag on the customer's other contacts.
    """
    _require(actor, "customer.edit")
    customer = _lock_customer(customer_id=customer_id, actor=actor)
    values = _validate_contact(
        dict(
            name=name,
            title=title,
            phone=phone,
            email=email,
            wechat_id=wechat_id,
            preferred_channel=preferred_channel,
            language=language,
            is_primary=is_primary,
        )
    )
    contact = Contact.objects.create(customer=customer, **values)
    _unset_other_primaries(contact)
    audit.record(
        actor=actor,
        verb="customers.contact.added",
        target=contact,
        company_id=customer.company_id,
        summary=contact.name,
        data=values,
    )
    return contact


def _lock_contact(*, contact_id: int, actor) -> tuple[Customer, Contact]:
    customer_id = Contact.objects.filter(pk=contact_id).values_list("customer_id", flat=True).first()
    if customer_id is None:
        raise NotAllowed(_("This contact does not exist or is not visible to you."))
    customer = _lock_customer(customer_id=customer_id, actor=actor)
    return customer, Contact.objects.select_for_update().get(pk=contact_id)


@transaction.atomic(durable=True)
def update_contact(*, contact_id: int, actor, **changes) -> Contact:
    """Change a contact's fields (same validation as ``add_contact``); audit holds before/after."""
    _require(actor, "customer.edit")
    unknown = set(changes) - set(CONTACT_FIELDS)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    customer, contact = _lock_contact(contact_id=contact_id, actor=actor)
    values = _validate_contact(changes)
    before, after = {}, {}
    for field, new in values.items():
        old = getattr(contact, field)
        if old != new:
            before[field], after[field] = old, new
            setattr(contact, field, new)
    if not after:
        return contact
    contact.save(update_fields=[*after, "updated_at"])
    _unset_other_primaries(contact)
    audit.record(
        actor=actor,
        verb="customers.contact.updated",
        target=contact,
        company_id=customer.company_id,
        summary=contact.name,
        data={"before": before, "after": after},
    )
    return contact


@transaction.atomic(durable=True)
def deactivate_contact(*, contact_id: int, actor) -> Contact:
    """Mark a contact inactive (kept for history; it is no longer primary)."""
    _require(actor, "customer.edit")
    customer, contact = _lock_contact(contact_id=contact_id, actor=actor)
    if not contact.is_active:
        return contact
    contact.is_active = False
    contact.is_primary = False
    contact.save(update_fields=["is_active", "is_primary", "updated_at"])
    audit.record(
        actor=actor,
        verb="customers.contact.deactivated",
        target=contact,
        company_id=customer.company_id,
        summary=contact.name,
    )
    return contact


# ---------------------------------------------------------------- files

# extension → (content type, check of the first bytes / the file)
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ALLOWED_UPLOADS = {
    "pdf": "application/pdf",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
}


def _magic_matches(ext: str, upload) -> bool:
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    if ext == "pdf":
        return head.startswith(b"%PDF-")
    if ext in ("jpg", "jpeg"):
        return head.startswith(b"\xff\xd8\xff")
    if ext == "png":
        return head == b"\x89PNG\r\n\x1a\n"
    if ext in ("doc", "xls"):
        return head == _OLE2
    if ext in ("docx", "xlsx"):
        if not head.startswith(b"PK\x03\x04"):
            return False
        marker = "word/document.xml" if ext == "docx" else "xl/workbook.xml"
        try:
            with zipfile.ZipFile(upload) as zf:
                return marker in zf.namelist()
        except (zipfile.BadZipFile, OSError, ValueError):
            return False
        finally:
            upload.seek(0)
    return False


def check_upload(upload) -> tuple[str, str]:
    """Size and type check for an uploaded file; returns (extension, content type) or raises InvalidUpload."""
    limit = settings.HUIKUAN_UPLOAD_MAX_BYTES
    if upload is None:
        raise InvalidUpload(_("Choose a file to upload."), field="file")
    if upload.size > limit:
        raise InvalidUpload(
            _("The file is too large (%(size)s MB); the limit is %(limit)s MB.")
            % {"size": f"{upload.size / 1048576:.1f}", "limit": f"{limit / 1048576:.1f}"},
            field="file",
        )
    if upload.size == 0:
        raise InvalidUpload(_("The file is empty."), field="file")
    ext = PurePath(upload.name or "").suffix.lower().lstrip(".")
    if ext not in ALLOWED_UPLOADS:
        raise InvalidUpload(
            _("This file type is not accepted. Upload PDF, JPG, PNG, Word (doc, docx) or Excel (xls, xlsx)."),
            field="file",
        )
    if not _magic_matches(ext, upload):
        raise InvalidUpload(
            _("The file's content does not match its extension .%(ext)s.") % {"ext": ext}, field="file"
        )
    return ext, ALLOWED_UPLOADS[ext]


@transaction.atomic(durable=True)
def upload_customer_file(
    *,
    customer_id: int,
    actor,
    upload,
    title: str = "",
    kind: str = DocumentKind.CONTRACT,
    valid_until: dt.date | None = None,
) -> CustomerFile:
    """Store a document on a customer's credit file.

    Refuses (InvalidUpload, nothing stored) files over ``settings.HUIKUAN_UPLOAD_MAX_BYTES`` and
    anything but pdf, jpg/jpeg, png, doc, docx, xls, xlsx whose first bytes match the extension.
    The stored content type comes from that check, never from the browser. If the database write
    fails after the file was written, the file is removed again.
    """
    _require(actor, "customer.document")
    customer = _lock_customer(customer_id=customer_id, actor=actor)
    record = stage_customer_file(customer_id=customer.pk, actor=actor, upload=upload, title=title, kind=kind,
                                 valid_until=valid_until)
    try:
        with transaction.atomic():
            save_staged_file(record, company_id=customer.company_id, actor=actor)
    except Exception:
        record.file.storage.delete(record.file.name)
        raise
    return record


def stage_customer_file(*, customer_id: int, actor, upload, title: str = "", kind: str = DocumentKind.CONTRACT,
                        valid_until: dt.date | None = None) -> CustomerFile:
    """Check an upload and write its bytes to storage; the record is returned unsaved.

    For a service that files an attachment as part of its own write (a visit logged with a photo of the
    signed statement): it stages the file before its transaction, saves it with ``save_staged_file``
    inside, and deletes ``record.file.name`` from storage if the transaction fails. The caller checks
    the permission and that the customer is in scope.
    """
    if kind not in DocumentKind.values:
        raise InvalidField(_("Unknown document kind."), field="kind")
    ext, content_type = check_upload(upload)
    title = _clean_text(title, field="title", max_length=200) or PurePath(upload.name).stem[:200]
    stem = get_valid_filename(PurePath(upload.name).stem)[:80] or "file"
    record = CustomerFile(customer_id=customer_id, kind=kind, title=title, size=upload.size, content_type=content_type,
                          valid_until=valid_until, uploaded_by=actor)
    upload.seek(0)
    record.file.save(f"{stem}.{ext}", upload, save=False)
    return record


def save_staged_file(record: CustomerFile, *, company_id: int, actor) -> CustomerFile:
    """Save a staged file's record with its audit event (inside the caller's transaction)."""
    record.save()
    audit.record(
        actor=actor,
        verb="customers.file.uploaded",
        target=record,
        company_id=company_id,
        summary=record.title,
        data={"kind": record.kind, "size": record.size, "content_type": record.content_type, "name": record.file.name},
    )
    return record


# ---------------------------------------------------------------- payment terms

TERM_FIELDS = (
    "code",
    "name",
    "kind",
    "days",
    "split_lines",
    "discount_percent",
    "discount_days",
    "roll_to_working_day",
    "active",
)


def _int(value, field: str) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise InvalidTerms(_("Enter a whole number of days."), field=field) from exc
    if number < 0:
        raise InvalidTerms(_("Days cannot be negative."), field=field)
    return number


def _percent(value, field: str) -> Decimal:
    if isinstance(value, float):
        raise TypeError("float is not accepted for percentages")
    try:
        number = Decimal(str(value).strip().rstrip("%"))
    except (InvalidOperation, ValueError) as exc:
        raise InvalidTerms(_("Enter a percentage."), field=field) from exc
    if not number.is_finite() or number != number.quantize(Decimal("0.01")):
        raise InvalidTerms(_("Enter a percentage with at most two decimals."), field=field)
    return number


def validate_terms(values: dict) -> dict:
    """Check a payment-term definition; returns normalised values or raises InvalidTerms.

    Net / 月结: days ≥ 0. Split: at least one line, each percent > 0 and days ≥ 0, percents summing
    to exactly 100 (split lines are stored as [{"percent": "30", "days": 0}, …]). Discount: percent
    0 ≤ p < 100 with discount days < days; split terms carry no discount (the schedule builder
    applies early-payment discounts to single-instalment terms only).
    """
    out = dict(values)
    out["code"] = _clean_text(out.get("code"), field="code", required=True, max_length=30)
    out["name"] = _clean_text(out.get("name"), field="name", required=True, max_length=100)
    kind = out.get("kind")
    if kind not in TermKind.values:
        raise InvalidTerms(_("Unknown kind of payment terms."), field="kind")
    out["days"] = _int(out.get("days", 0), "days")
    lines = []
    if kind == TermKind.SPLIT:
        raw = out.get("split_lines") or []
        if not raw:
            raise InvalidTerms(_("Enter at least one instalment."), field="split_lines")
        total = Decimal(0)
        for line in raw:
            percent = _percent(line.get("percent"), "split_lines")
            days = _int(line.get("days"), "split_lines")
            if percent <= 0:
                raise InvalidTerms(_("Each instalment needs a percentage above 0."), field="split_lines")
            total += percent
            lines.append({"percent": format(percent.normalize(), "f"), "days": days})
        if total != 100:
            raise InvalidTerms(
                _("The instalment percentages add up to %(total)s%%; they must add up to exactly 100%%.")
                % {"total": total},
                field="split_lines",
            )
        out["days"] = max(line["days"] for line in lines)
    out["split_lines"] = lines
    discount = _percent(out.get("discount_percent", 0) or 0, "discount_percent")
    discount_days = _int(out.get("discount_days", 0) or 0, "discount_days")
    if discount < 0 or discount >= 100:
        raise InvalidTerms(_("The discount must be between 0 and 100%."), field="discount_percent")
    if discount > 0:
        if kind == TermKind.SPLIT:
            raise InvalidTerms(
                _("Split terms cannot carry an early-payment discount."), field="discount_percent"
            )
        if discount_days >= out["days"]:
            raise InvalidTerms(
                _("The discount period must be shorter than the payment period."), field="discount_days"
            )
    else:
        discount_days = 0
    out["discount_percent"] = discount
    out["discount_days"] = discount_days
    out["roll_to_working_day"] = bool(out.get("roll_to_working_day", False))
    out["active"] = bool(out.get("active", True))
    return out


def _term_duplicate(code: str) -> InvalidTerms:
    return InvalidTerms(_("Payment terms code %(code)s is already used.") % {"code": code}, field="code")


@transaction.atomic(durable=True)
def create_payment_term(
    *,
    company,
    actor,
    code: str,
    name: str,
    kind: str = TermKind.NET,
    days: int = 30,
    split_lines: Sequence[dict] = (),
    discount_percent: Decimal | str = "0",
    discount_days: int = 0,
    roll_to_working_day: bool = False,
    active: bool = True,
) -> PaymentTerm:
    """Create a payment-term template (``terms.edit``); see ``validate_terms`` for the rules."""
    _require(actor, "terms.edit")
    values = validate_terms(
        dict(
            code=code,
            name=name,
            kind=kind,
            days=days,
            split_lines=list(split_lines),
            discount_percent=discount_percent,
            discount_days=discount_days,
            roll_to_working_day=roll_to_working_day,
            active=active,
        )
    )
    if PaymentTerm.objects.filter(company=company, code=values["code"]).exists():
        raise _term_duplicate(values["code"])
    try:
        with transaction.atomic():
            term = PaymentTerm.objects.create(company=company, **values)
    except IntegrityError as exc:
        raise _term_duplicate(values["code"]) from exc
    audit.record(
        actor=actor,
        verb="customers.terms.created",
        target=term,
        company_id=company.pk,
        summary=term.name,
        data=values,
    )
    return term


@transaction.atomic(durable=True)
def update_payment_term(*, term_id: int, company, actor, **changes) -> PaymentTerm:
    """Change a payment-term template. Existing documents keep the schedule they were posted with."""
    _require(actor, "terms.edit")
    unknown = set(changes) - set(TERM_FIELDS)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    try:
        term = PaymentTerm.objects.select_for_update().get(pk=term_id, company=company)
    except PaymentTerm.DoesNotExist as exc:
        raise NotAllowed(_("These payment terms do not exist.")) from exc
    current = {f: getattr(term, f) for f in TERM_FIELDS}
    values = validate_terms({**current, **changes})
    before, after = {}, {}
    for field, new in values.items():
        if current[field] != new:
            before[field], after[field] = current[field], new
            setattr(term, field, new)
    if not after:
        return term
    if (
        "code" in after
        and PaymentTerm.objects.filter(company=company, code=term.code).exclude(pk=term.pk).exists()
    ):
        raise _term_duplicate(term.code)
    try:
        with transaction.atomic():
            term.save(update_fields=list(after))
    except IntegrityError as exc:
        raise _term_duplicate(term.code) from exc
    audit.record(
        actor=actor,
        verb="customers.terms.updated",
        target=term,
        company_id=company.pk,
        summary=term.name,
        data={"before": before, "after": after},
    )
    return term


@transaction.atomic(durable=True)
def reassign_customers(*, company, actor, from_user_id: int, to_user_id: int,
                       customer_ids: Sequence[int] | None = None) -> int:
    """Move customers owned by one person (typically a leaver) to another salesperson in one action.

    Administrators only (``admin.users``; ``actor=None`` is the operator at the command line). The new
    owner must be an active salesperson or sales manager of the company. Locks the customers (by pk,
    the project-wide order), bumps each one's version and records one audit event per customer
    (owner before → after), which its timeline shows. Returns how many customers moved.
    """
    if actor is not None:
        _require(actor, "admin.users")
    if from_user_id == to_user_id:
        raise InvalidField(_("Choose someone else to take the customers over."), field="to_user")
    to_user = User.objects.filter(pk=to_user_id, companies=company, is_active=True, role__in=SALES_ROLES).first()
    if to_user is None:
        raise InvalidField(_("The customers can only go to an active salesperson or sales manager of this company."),
                           field="to_user")
    qs = Customer.objects.select_for_update(of=("self",)).filter(company=company, owner_id=from_user_id)
    if customer_ids is not None:
        qs = qs.filter(pk__in=list(customer_ids))
    moved = list(qs.order_by("pk"))
    now = dj_timezone.now()
    for customer in moved:
        customer.owner = to_user
        customer.version += 1
        customer.updated_at = now
    Customer.objects.bulk_update(moved, ["owner", "version", "updated_at"])
    for customer in moved:
        audit.record(
            actor=actor, verb="customers.customer.updated", target=customer, customer_id=customer.pk,
            summary=str(customer),
            data={"before": {"owner": from_user_id}, "after": {"owner": to_user.pk}, "version": customer.version,
                  "reassigned": True},
        )
    return len(moved)


# ---------------------------------------------------------------- collectors

COLLECTOR_ROLES = (Role.COLLECTOR, Role.CREDIT_MANAGER, Role.FINANCE, Role.LEGAL, Role.ADMIN)
MAX_ASSIGN = 5000


def assignable_collectors(*, company):
    """Users who may be a customer's collector: active staff of the company who chase money (collectors
    first). Salespeople are not offered: they own customers; a collector is the second person."""
    from django.db.models import Case, IntegerField, Value, When

    return (User.objects.filter(companies=company, role__in=COLLECTOR_ROLES, is_active=True)
            .annotate(first=Case(When(role=Role.COLLECTOR, then=Value(0)), default=Value(1), output_field=IntegerField()))
            .order_by("first", "display_name", "username"))


@transaction.atomic(durable=True)
def assign_collector(*, company, customer_ids: Sequence[int], collector: User | None, actor, channel: str = "web") -> int:
    """Make ``collector`` (or nobody) the collector of each customer; returns how many changed.

    Managers only (``collections.assign``). Locks the customers in pk order; a customer of another
    company, or one the actor cannot see, refuses the whole call (nothing changes). One audit event per
    customer that changed, with the collector before and after; customers already assigned to
    ``collector`` are left alone.
    """
    _require(actor, "collections.assign")
    ids = sorted({int(i) for i in customer_ids})
    if not ids:
        raise InvalidField(_("Choose the customers."), field="customers")
    if len(ids) > MAX_ASSIGN:
        raise InvalidField(_("Assign at most %(n)s customers at once.") % {"n": MAX_ASSIGN}, field="customers")
    if collector is not None and not assignable_collectors(company=company).filter(pk=collector.pk).exists():
        raise InvalidField(_("Choose an active collector of this company."), field="collector")
    locked = list(Customer.objects.select_for_update(of=("self",)).filter(company=company, pk__in=ids)
                  .filter(owner_q(actor, "owner")).select_related("collector").order_by("pk"))
    if len(locked) != len(ids):
        raise NotAllowed(_("This customer does not exist or is not visible to you."))
    now = dj_timezone.now()
    changed = [c for c in locked if c.collector_id != (collector.pk if collector else None)]
    for c in changed:
        before = c.collector.username if c.collector_id else None
        c.collector = collector
        c.updated_at = now
        audit.record(actor=actor, verb="customers.collector.assigned", target=c, customer_id=c.pk, summary=str(c),
                     data={"before": before, "after": collector.username if collector else None, "channel": channel,
                           "batch": len(ids)})
    Customer.objects.bulk_update(changed, ["collector", "updated_at"], batch_size=1000)
    return len(changed)
