"""What each user may see — applied in one place so a forgotten filter fails closed.

``owner_q(user, field)`` returns a Q that limits rows by their owning salesperson. Every selector
that lists or loads customer-owned rows combines it; out-of-scope rows therefore never load and
the view answers 404.
"""

from django.db.models import Q

from .models import Role

_ALL = {Role.ADMIN, Role.FINANCE, Role.CREDIT_MANAGER, Role.COLLECTOR, Role.LEGAL, Role.AUDITOR}


def sees_all(user) -> bool:
    """True when ``owner_q`` limits nothing for ``user`` (company-wide figures may be shown)."""
    return bool(user is not None and user.is_authenticated and user.is_active and user.role in _ALL)


def owner_q(user, owner_field: str = "owner") -> Q:
    if user is None or not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    if user.role in _ALL:
        return Q()
    if user.role == Role.SALES_MANAGER:
        if user.team_id is None:
            return Q(**{owner_field: user.pk})
        return Q(**{f"{owner_field}__team_id": user.team_id}) | Q(**{owner_field: user.pk})
    if user.role == Role.SALESPERSON:
        return Q(**{owner_field: user.pk})
    return Q(pk__in=[])


def company_ids(user) -> list[int]:
    return list(user.companies.values_list("pk", flat=True))
