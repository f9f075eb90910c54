"""Portal writes: invitations, one-time sign-in, and the customer's own actions through the apps' services.

Sign-in secrets are random (``secrets``), stored only as SHA-256 (links) or an HMAC bound to the token row
(six-digit codes), single use, short-lived, and bound to one ``PortalAccess``. Every refusal of a secret —
unknown, expired, used, revoked — raises the same ``LinkInvalid``, so a caller learns nothing about
whether a contact or an address exists.

The customer's actions (confirming a statement, disputing, promising, a remittance advice) go through
the owning apps' services with the portal's service account as the actor, and add a ``portal.*`` audit
event naming the contact, so the customer's timeline shows who did it, and a notification to the owner.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext, override
from django.utils.translation import gettext_lazy as _

from huikuan.accounts.models import Role
from huikuan.common import audit
from huikuan.common.errors import DomainError, NotAllowed
from huikuan.common.texts import Text
from huikuan.customers.models import Contact, Customer

from .models import Confirmation, PortalAccess, SignInToken, TokenPurpose

LINK_HOURS = {TokenPurpose.INVITE: 72, TokenPurpose.REMINDER: 24 * 14, TokenPurpose.CODE: 0.25}
CODE_ATTEMPTS = 5
SERVICE_USERNAME = "portal-service"


class PortalError(DomainError):
    code = "portal_error"


class LinkInvalid(PortalError):
    """One refusal for every bad secret: nothing says whether the contact or the address exists."""

    code = "link_invalid"
    status = 410


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _code_hash(token_hash: str, code: str) -> str:
    return salted_hmac("huikuan.portal.code", f"{token_hash}:{code}").hexdigest()


def link_hours(purpose: str) -> float:
    return float(getattr(settings, "HUIKUAN_PORTAL_LINK_HOURS", {}).get(purpose, LINK_HOURS[purpose]))


def service_actor(company):
    """The portal's service account: the actor of the services the portal calls (audit shows it as the
    customer portal; the ``portal.*`` event beside it names the contact). It has no usable password and
    belongs to no company, so nobody can sign in as it or pick it as a person; it only ever acts inside
    portal services, which scope by the contact (``company`` is kept for a per-company account later)."""
    User = get_user_model()
    user = User.objects.filter(username=SERVICE_USERNAME).first()
    if user is None:
        try:
            with transaction.atomic():
                user = User(username=SERVICE_USERNAME, role=Role.FINANCE, display_name="Customer portal · 客户门户")
                user.set_unusable_password()
                user.save()
        except IntegrityError:
            user = User.objects.get(username=SERVICE_USERNAME)
    return user  # member of no company: never listed among a company's people, pickers or users


def contact_address(contact: Contact) -> str:
    return contact.email or contact.phone


# ---------------------------------------------------------------- access


@transaction.atomic(durable=True)
def grant_access(*, actor, contact_id: int, whole_group: bool = False) -> PortalAccess:
    """Give a contact portal access (or re-activate it). Needs ``customer.edit``; the contact needs an
    e-mail address or a mobile number to receive sign-in links and codes. Locks the contact."""
    if not actor.can("customer.edit") or actor.is_read_only:
        raise NotAllowed(_("You cannot invite customer contacts to the portal."))
    contact = Contact.objects.select_for_update().select_related("customer").get(pk=contact_id)
    if not contact.is_active:
        raise PortalError(_("This contact is inactive."), field="contact")
    if not (contact.email or contact.phone):
        raise PortalError(_("The contact needs an e-mail address or a mobile number to sign in."), field="contact")
    if whole_group and not contact.customer.group_id:
        raise PortalError(_("This customer belongs to no group."), field="whole_group")
    access, created = PortalAccess.objects.get_or_create(
        contact=contact, defaults={"company_id": contact.customer.company_id, "customer": contact.customer,
                                   "whole_group": whole_group, "invited_by": actor})
    if not created:
        access.is_active, access.revoked_at, access.whole_group = True, None, whole_group
        access.save(update_fields=["is_active", "revoked_at", "whole_group"])
    audit.record(actor=actor, verb="portal.access.invited", target=contact.customer, customer_id=contact.customer_id,
                 company_id=contact.customer.company_id,
                 summary=Text("portal.event.invited", name=contact.name, address=contact_address(contact)),
                 data={"contact_id": contact.pk, "whole_group": whole_group})
    return access


@transaction.atomic(durable=True)
def revoke_access(*, actor, access_id: int, now: dt.datetime) -> PortalAccess:
    """End a contact's access: its open sessions die at their next request (generation bumped) and
    its unused links and codes are spent."""
    if not actor.can("customer.edit") or actor.is_read_only:
        raise NotAllowed(_("You cannot change portal access."))
    access = PortalAccess.objects.select_for_update().select_related("contact", "customer").get(pk=access_id)
    access.is_active, access.revoked_at, access.generation = False, now, access.generation + 1
    access.save(update_fields=["is_active", "revoked_at", "generation"])
    SignInToken.objects.filter(access=access, used_at__isnull=True).update(used_at=now)
    audit.record(actor=actor, verb="portal.access.revoked", target=access.customer, customer_id=access.customer_id,
                 company_id=access.company_id, summary=Text("portal.event.revoked", name=access.contact.name),
                 data={"contact_id": access.contact_id})
    return access


def customers_of(access: PortalAccess):
    """The customers a portal session sees: the contact's own, or every customer of its group when granted."""
    qs = Customer.objects.filter(company_id=access.company_id)
    if access.whole_group and access.customer.group_id:
        return qs.filter(group_id=access.customer.group_id)
    return qs.filter(pk=access.customer_id)


# ---------------------------------------------------------------- one-time links and codes


@dataclass(frozen=True)
class Issued:
    token: SignInToken
    secret: str  # the link's secret, shown once (never stored)
    code: str  # the six-digit code ("" for a link)


def issue_token(*, access: PortalAccess, purpose: str, now: dt.datetime, sent_to: str = "") -> Issued:
    """A new one-time secret for ``access`` (a link, or a code for CODE). Call inside a transaction."""
    secret = secrets.token_urlsafe(32)
    token_hash = _hash(secret)
    code = f"{secrets.randbelow(1_000_000):06d}" if purpose == TokenPurpose.CODE else ""
    token = SignInToken.objects.create(
        access=access, purpose=purpose, token_hash=token_hash, code_hash=_code_hash(token_hash, code) if code else "",
        sent_to=sent_to[:200], expires_at=now + dt.timedelta(hours=link_hours(purpose)))
    return Issued(token, secret, code)


def _send(contact: Contact, *, subject: str, body: str) -> str:
    """E-mail when the contact has an address, else an SMS through the dunning SMS provider."""
    if contact.email:
        send_mail(subject, body, None, [contact.email])
        return contact.email
    from huikuan.dunning import channels

    channels.sms_provider().deliver(channels.Message(to=contact.phone, subject=subject, text=body,
                                                     key=f"portal-{secrets.token_hex(8)}"))
    return contact.phone


def invite(*, actor, contact_id: int, base_url: str, now: dt.datetime, whole_group: bool = False) -> str:
    """Grant access and send the contact a sign-in link (in the contact's language). Returns where it went."""
    access = grant_access(actor=actor, contact_id=contact_id, whole_group=whole_group)
    contact = access.contact
    with transaction.atomic():
        issued = issue_token(access=access, purpose=TokenPurpose.INVITE, now=now, sent_to=contact_address(contact))
    link = f"{base_url.rstrip('/')}/portal/in/{issued.secret}/"
    with override(contact.language or "zh-hans"):
        subject = gettext("Your account with %(company)s online") % {"company": access.customer.company.name}
        body = gettext(
            "Dear %(name)s,\n\n%(company)s invites you to see your account online: open items, payments and "
            "statements, and to confirm statements or tell us when you will pay.\n\nSign in (the link works once, "
            "within %(hours)s hours):\n%(link)s\n") % {
            "name": contact.name, "company": access.customer.company.name, "link": link,
            "hours": int(link_hours(TokenPurpose.INVITE))}
    return _send(contact, subject=subject, body=body)


def reminder_link(*, access: PortalAccess, base_url: str, now: dt.datetime) -> str:
    with transaction.atomic():
        issued = issue_token(access=access, purpose=TokenPurpose.REMINDER, now=now, sent_to=contact_address(access.contact))
    return f"{base_url.rstrip('/')}/portal/in/{issued.secret}/"


def peek_link(*, secret: str, now: dt.datetime) -> PortalAccess:
    """The access a link would open, without spending it (the page asks the person to press "Sign in",
    so mail scanners that fetch links do not spend them). Raises LinkInvalid."""
    token = (SignInToken.objects.filter(token_hash=_hash(secret or ""), code_hash="", used_at__isnull=True,
                                        expires_at__gt=now, access__is_active=True)
             .select_related("access__contact", "access__customer").first())
    if token is None:
        raise LinkInvalid(_("This sign-in link is not valid: it has expired or was already used."))
    return token.access


@transaction.atomic(durable=True)
def use_link(*, secret: str, now: dt.datetime, ip: str | None = None) -> PortalAccess:
    """Spend a sign-in link (once: the row is locked and marked used). Raises LinkInvalid."""
    token = (SignInToken.objects.select_for_update().filter(token_hash=_hash(secret or ""), code_hash="").first())
    if token is None or token.used_at is not None or token.expires_at <= now:
        raise LinkInvalid(_("This sign-in link is not valid: it has expired or was already used."))
    access = PortalAccess.objects.select_related("contact", "customer").get(pk=token.access_id)
    if not access.is_active:
        raise LinkInvalid(_("This sign-in link is not valid: it has expired or was already used."))
    token.used_at = now
    token.save(update_fields=["used_at"])
    return _signed_in(access, now=now, ip=ip, how=token.purpose)


def _signed_in(access: PortalAccess, *, now, ip, how) -> PortalAccess:
    PortalAccess.objects.filter(pk=access.pk).update(last_signed_in_at=now)
    audit.record(actor=None, verb="portal.signed_in", target=access.customer, customer_id=access.customer_id,
                 company_id=access.company_id, summary=Text("portal.event.signin", name=access.contact.name),
                 data={"contact_id": access.contact_id, "how": how, "ip": ip or ""})
    return access


def _matching_accesses(address: str):
    address = (address or "").strip()
    if not address:
        return PortalAccess.objects.none()
    q = Q(contact__email__iexact=address) if "@" in address else Q(contact__phone=_phone(address))
    return PortalAccess.objects.filter(q, is_active=True, contact__is_active=True).select_related("contact", "customer__company")


def _phone(value: str) -> str:
    import phonenumbers

    try:
        parsed = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException:
        return value
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def request_code(*, address: str, now: dt.datetime) -> int:
    """Send a six-digit sign-in code to every active access with this e-mail address or mobile number.
    Returns how many were sent — for tests only: the view shows the same page whatever it is."""
    sent = 0
    for access in _matching_accesses(address):
        with transaction.atomic():
            issued = issue_token(access=access, purpose=TokenPurpose.CODE, now=now, sent_to=address)
        with override(access.contact.language or "zh-hans"):
            subject = gettext("Your sign-in code: %(code)s") % {"code": issued.code}
            body = gettext("%(code)s is your code to sign in to your account with %(company)s. It works once, "
                           "within 15 minutes. If you did not ask for it, ignore this message.") % {
                "code": issued.code, "company": access.customer.company.name}
        _send(access.contact, subject=subject, body=body)
        sent += 1
    return sent


def use_code(*, address: str, code: str, now: dt.datetime, ip: str | None = None) -> PortalAccess:
    """Sign in with a code sent to ``address``. A wrong code counts against every open code of the
    address; after ``CODE_ATTEMPTS`` wrong tries a code is spent. Raises LinkInvalid."""
    access = _use_code(address=address, code="".join(ch for ch in (code or "") if ch.isdigit()), now=now, ip=ip)
    if access is None:  # raised outside the transaction, so the counted failure stays
        raise LinkInvalid(_("This code is not valid: it is wrong, has expired or was already used."))
    return access


@transaction.atomic(durable=True)
def _use_code(*, address: str, code: str, now: dt.datetime, ip: str | None) -> PortalAccess | None:
    tokens = list(SignInToken.objects.select_for_update().filter(
        access__in=_matching_accesses(address).values("pk"), purpose=TokenPurpose.CODE, used_at__isnull=True,
        expires_at__gt=now,
    ).order_by("-created_at"))
    for token in tokens:
        if len(code) == 6 and constant_time_compare(token.code_hash, _code_hash(token.token_hash, code)):
            token.used_at = now
            token.save(update_fields=["used_at"])
            access = PortalAccess.objects.select_related("contact", "customer").get(pk=token.access_id)
            return _signed_in(access, now=now, ip=ip, how="code")
    for token in tokens:
        SignInToken.objects.filter(pk=token.pk).update(
            failed_attempts=F("failed_attempts") + 1,
            used_at=now if token.failed_attempts + 1 >= CODE_ATTEMPTS else None)
    return None


def confirmed_copies(statement_ids) -> dict:
    """``{statement_id: (stamped PDF, sha256)}`` of the latest portal confirmation of each statement that has one
    (for evidence packs built by lower layers, which cannot read the portal's records)."""
    out = {}
    for conf in (Confirmation.objects.filter(statement_id__in=list(statement_ids), confirmed=True)
                 .order_by("statement_id", "-at", "-pk")):
        out.setdefault(conf.statement_id, (bytes(conf.pdf), conf.sha256))
    return out
