"""Every write to users and teams (user administration).

Each public service is one durable transaction (never call it inside another atomic block) unless
its docstring says otherwise, locks the user row it changes, checks the actor's permission
(``admin.users``; ``actor=None`` is the operator at the command line), records an audit event in the
same transaction and raises an ``AccountError``/``NotAllowed`` (both ``DomainError``) with a
translated message and the ``field`` at fault. Users are never deleted: a leaver is deactivated and
history keeps their name. Passwords never reach the audit trail.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from django.contrib.auth import password_validation
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from huikuan.common import audit
from huikuan.common.errors import DomainError, NotAllowed
from huikuan.common.identifiers import normalise_phone

from .models import Company, Role, Team, User

PROFILE_FIELDS = ("display_name", "email", "phone", "employee_number", "team", "manager", "language")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_EMPLOYEE_NUMBER = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._/-]{0,29}$")
_FULLWIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}


class AccountError(DomainError):
    code = "account_error"


class DuplicateUser(AccountError):
    code = "duplicate_user"
    status = 409


def _require(actor, perm: str = "admin.users") -> None:
    if actor is not None and not actor.can(perm):
        raise NotAllowed(_("You are not allowed to do this."))


def _text(value, *, field: str, required: bool = False, max_length: int = 100) -> str:
    text = unicodedata.normalize("NFC", str(value or "")).strip()
    if _CONTROL.search(text):
        raise AccountError(_("Remove the control characters from this value."), field=field)
    if required and not text:
        raise AccountError(_("This field is required."), field=field)
    if len(text) > max_length:
        raise AccountError(_("Ensure this value has at most %(max)d characters.") % {"max": max_length},
                           field=field)
    return text


def clean_username(value) -> str:
    name = _text(value, field="username", required=True, max_length=150)
    try:
        UnicodeUsernameValidator()(name)
    except ValidationError as exc:
        raise AccountError(_("A login may contain only letters, digits and @ . + - _ (no spaces)."),
                           field="username") from exc
    return name


def clean_employee_number(value) -> str:
    number = _text(value, field="employee_number", max_length=30).translate(_FULLWIDTH)
    if number and not _EMPLOYEE_NUMBER.match(number):
        raise AccountError(_("An employee number may contain only letters, digits and . _ / -."),
                           field="employee_number")
    return number


def _role(value) -> str:
    if value not in Role.values:
        raise AccountError(_("Unknown role %(role)s. Choose one of: %(roles)s.")
                           % {"role": value, "roles": ", ".join(Role.values)}, field="role")
    return value


def _email(value) -> str:
    email = _text(value, field="email", max_length=254)
    if email:
        try:
            validate_email(email)
        except ValidationError as exc:
            raise AccountError(_("Enter a valid e-mail address."), field="email") from exc
    return email


def _phone(value) -> str:
    raw = _text(value, field="phone", max_length=40)
    try:
        return normalise_phone(raw)
    except ValueError as exc:
        raise AccountError(_("Enter a valid phone number."), field="phone") from exc


def _check_password(password, user=None) -> str:
    if not password:
        raise AccountError(_("Enter a password."), field="password")
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise AccountError(" ".join(str(m) for m in exc.messages), field="password") from exc
    return password


def _team(value) -> Team | None:
    if value in (None, ""):
        return None
    if isinstance(value, Team):
        return value
    if isinstance(value, int):
        team = Team.objects.filter(pk=value).first()
        if team is None:
            raise AccountError(_("Unknown team."), field="team")
        return team
    name = _text(value, field="team", max_length=100)
    team, _created = Team.objects.get_or_create(name=name)
    return team


def _manager(value, *, user: User | None = None) -> User | None:
    if value in (None, ""):
        return None
    if isinstance(value, User):
        found = value
    else:
        found = find_user(value)
        if found is None:
            raise AccountError(_("Unknown manager %(name)s.") % {"name": value}, field="manager")
    if user is not None and found.pk == user.pk:
        raise AccountError(_("A user cannot be their own manager."), field="manager")
    return found


def find_user(value) -> User | None:
    """A user by pk (int), or by login, else employee number (exact text)."""
    if isinstance(value, int):
        return User.objects.filter(pk=value).first()
    text = str(value or "").strip()
    if not text:
        return None
    return User.objects.filter(username=text).first() or User.objects.filter(employee_number=text).first()


def _taken(*, username: str = "", employee_number: str = "", exclude_pk: int | None = None) -> None:
    qs = User.objects.all()
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    if username and qs.filter(username__iexact=username).exists():
        raise DuplicateUser(_("The login %(name)s is already taken.") % {"name": username}, field="username")
    if employee_number and qs.filter(employee_number=employee_number).exists():
        other = qs.get(employee_number=employee_number)
        raise DuplicateUser(_("Employee number %(number)s already belongs to %(user)s.")
                            % {"number": employee_number, "user": f"{other} ({other.username})"},
                            field="employee_number")


def _audit_company(user: User) -> int | None:
    first = user.companies.order_by("pk").values_list("pk", flat=True).first()
    return first


def _lock(user_id) -> User:
    try:
        return User.objects.select_for_update().get(pk=user_id)
    except (User.DoesNotExist, ValueError, TypeError) as exc:
        raise AccountError(_("This user does not exist."), field="user") from exc


def _active_admins(exclude_pk: int) -> int:
    return User.objects.filter(is_active=True, role=Role.ADMIN).exclude(pk=exclude_pk).count()


def _plain(user: User, field: str):
    value = getattr(user, field)
    if isinstance(value, (Team, User)):
        return str(value)
    return value


def new_user(
    *,
    actor,
    username: str,
    password: str,
    role: str,
    display_name: str = "",
    employee_number: str = "",
    email: str = "",
    phone: str = "",
    team=None,
    manager=None,
    language: str = "zh-hans",
    companies: Iterable[Company] = (),
    one_time: bool = True,
    superuser: bool = False,
) -> User:
    """Create a user inside the caller's transaction (``create_user`` is the durable entry point;
    company setup calls this within its own). ``one_time``: the user must choose a new password at
    their first sign-in."""
    _require(actor)
    username = clean_username(username)
    employee_number = clean_employee_number(employee_number)
    values = dict(
        role=_role(role),
        display_name=_text(display_name, field="display_name", max_length=100),
        email=_email(email),
        phone=_phone(phone),
        language=language if language in ("zh-hans", "en") else "zh-hans",
    )
    _taken(username=username, employee_number=employee_number)
    user = User(username=username, employee_number=employee_number, **values)
    _check_password(password, user)
    user.team = _team(team)
    user.manager = _manager(manager)
    user.set_password(password)
    user.must_change_password = bool(one_time)
    user.is_superuser = bool(superuser)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        _taken(username=username, employee_number=employee_number)
        raise DuplicateUser(_("This user already exists."), field="username") from exc
    user.companies.add(*companies)
    audit.record(
        actor=actor, verb="accounts.user.created", target=user, company_id=_audit_company(user),
        summary=f"{user.username} {values['display_name']}".strip(),
        data={"username": username, "employee_number": employee_number, "team": str(user.team or ""),
              "manager": str(user.manager or ""), "companies": [c.code for c in user.companies.all()],
              **values},
    )
    return user


@transaction.atomic(durable=True)
def create_user(**kwargs) -> User:
    """Add a user (``admin.users``): login, password, role and profile; see ``new_user``.

    Raises DuplicateUser for a login (case-insensitive) or employee number already in use.
    """
    return new_user(**kwargs)


@transaction.atomic(durable=True)
def update_user(*, actor, user_id: int, **changes) -> User:
    """Change a user's profile (display name, e-mail, phone, employee number, team, manager, language)."""
    _require(actor)
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    user = _lock(user_id)
    before = {f: _plain(user, f) for f in changes}
    if "display_name" in changes:
        user.display_name = _text(changes["display_name"], field="display_name", max_length=100)
    if "email" in changes:
        user.email = _email(changes["email"])
    if "phone" in changes:
        user.phone = _phone(changes["phone"])
    if "employee_number" in changes:
        user.employee_number = clean_employee_number(changes["employee_number"])
        _taken(employee_number=user.employee_number, exclude_pk=user.pk)
    if "team" in changes:
        user.team = _team(changes["team"])
    if "manager" in changes:
        user.manager = _manager(changes["manager"], user=user)
    if "language" in changes:
        if changes["language"] not in ("zh-hans", "en"):
            raise AccountError(_("Choose a language."), field="language")
        user.language = changes["language"]
    after = {f: _plain(user, f) for f in changes}
    if after == before:
        return user
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        raise DuplicateUser(_("This employee number is already in use."), field="employee_number") from exc
    audit.record(actor=actor, verb="accounts.user.updated", target=user, company_id=_audit_company(user),
                 summary=user.username, data={"before": before, "after": after})
    return user


@transaction.atomic(durable=True)
def set_role(*, actor, user_id: int, role: str) -> User:
    """Give a user another role. The last active administrator cannot lose the role."""
    _require(actor)
    role = _role(role)
    user = _lock(user_id)
    if user.role == role:
        return user
    if user.role == Role.ADMIN and user.is_active and not _active_admins(user.pk):
        raise AccountError(_("%(user)s is the last active administrator; make someone else an administrator "
                             "first.") % {"user": user.username}, field="role")
    old = user.role
    user.role = role
    user.save(update_fields=["role"])
    audit.record(actor=actor, verb="accounts.user.role_changed", target=user, company_id=_audit_company(user),
                 summary=f"{user.username}: {old} → {role}",
                 data={"before": {"role": old}, "after": {"role": role}})
    return user


@transaction.atomic(durable=True)
def deactivate_user(*, actor, user_id: int) -> User:
    """A leaver can no longer sign in or be assigned work; their history keeps their name.

    Refuses the actor themself and the last active administrator.
    """
    _require(actor)
    user = _lock(user_id)
    if not user.is_active:
        raise AccountError(_("%(user)s is already deactivated.") % {"user": user.username}, field="user")
    if actor is not None and actor.pk == user.pk:
        raise AccountError(_("You cannot deactivate yourself."), field="user")
    if user.role == Role.ADMIN and not _active_admins(user.pk):
        raise AccountError(_("%(user)s is the last active administrator and cannot be deactivated.")
                           % {"user": user.username}, field="user")
    user.is_active = False
    user.save(update_fields=["is_active"])
    audit.record(actor=actor, verb="accounts.user.deactivated", target=user, company_id=_audit_company(user),
                 summary=user.username, data={"before": {"is_active": True}, "after": {"is_active": False}})
    return user


@transaction.atomic(durable=True)
def reactivate_user(*, actor, user_id: int) -> User:
    """Let a deactivated user sign in again."""
    _require(actor)
    user = _lock(user_id)
    if user.is_active:
        return user
    user.is_active = True
    user.save(update_fields=["is_active"])
    audit.record(actor=actor, verb="accounts.user.reactivated", target=user, company_id=_audit_company(user),
                 summary=user.username, data={"before": {"is_active": False}, "after": {"is_active": True}})
    return user


@transaction.atomic(durable=True)
def reset_password(*, actor, user_id: int, password: str) -> User:
    """Set a one-time password: the user must choose their own at their next sign-in."""
    _require(actor)
    user = _lock(user_id)
    _check_password(password, user)
    user.set_password(password)
    user.must_change_password = True
    user.save(update_fields=["password", "must_change_password"])
    audit.record(actor=actor, verb="accounts.user.password_reset", target=user, company_id=_audit_company(user),
                 summary=user.username, data={})
    return user


@transaction.atomic(durable=True)
def change_own_password(*, user_id: int, old_password: str, new_password: str) -> User:
    """A user changes their own password (the current one is required); clears the one-time flag."""
    user = _lock(user_id)
    if not user.check_password(old_password or ""):
        raise AccountError(_("Your current password was entered incorrectly."), field="old_password")
    if old_password == new_password:
        raise AccountError(_("Choose a password different from the current one."), field="new_password")
    try:
        _check_password(new_password, user)
    except AccountError as exc:
        raise AccountError(exc.message, field="new_password") from exc
    user.set_password(new_password)
    user.must_change_password = False
    user.save(update_fields=["password", "must_change_password"])
    audit.record(actor=user, verb="accounts.user.password_changed", target=user, company_id=_audit_company(user),
                 summary=user.username, data={})
    return user


@transaction.atomic(durable=True)
def grant_company(*, actor, user_id: int, company_id: int) -> User:
    """Let a user work in one more of our companies."""
    _require(actor)
    user = _lock(user_id)
    company = Company.objects.filter(pk=company_id).first()
    if company is None:
        raise AccountError(_("Unknown company."), field="company")
    if user.companies.filter(pk=company.pk).exists():
        return user
    user.companies.add(company)
    audit.record(actor=actor, verb="accounts.user.company_granted", target=user, company_id=company.pk,
                 summary=f"{user.username} {company.code}", data={"company": company.code})
    return user
