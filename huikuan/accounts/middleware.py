"""Attach the active company (our legal entity) to the request; force a one-time password change; record
refused requests for the audit report."""

import datetime as dt
import logging

from django.db import DatabaseError

from .models import Company

logger = logging.getLogger(__name__)


class ActiveCompanyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.company = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            companies = list(user.companies.all())
            if not companies and user.is_superuser:
                companies = list(Company.objects.all())
            chosen = request.session.get("company_id")
            request.companies = companies
            request.company = next((c for c in companies if c.pk == chosen), companies[0] if companies else None)
        else:
            request.companies = []
        return self.get_response(request)


class OneTimePasswordMiddleware:
    """A user whose password an administrator set (one-time) must choose their own before anything else.

    Every page but the password page, sign-out, language switching and static files redirects there;
    the API (key-authenticated) is not concerned.
    """

    ALLOWED = ("/password/", "/logout/", "/i18n/", "/static/", "/api/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated and getattr(user, "must_change_password", False)
                and not request.path.startswith(self.ALLOWED)):
            from django.shortcuts import redirect

            return redirect("/password/")
        return self.get_response(request)


class RecordPermissionDenied:
    """Record a signed-in user's refused request (403) as an audit event, ``accounts.permission.denied``, for the
    internal audit report's "failed permission attempts".

    Throttled: one event per user and path per ``WINDOW`` (a script hammering a page writes one row per ten
    minutes, not one per request), found by an indexed look-up on the user's recent events. A CSRF refusal is
    not a permission attempt (the request never reached the view: ``csrf_processing_done`` is unset) and is
    not recorded; objects out of scope answer 404 and are not recorded either (nothing is disclosed).
    Recording never turns the 403 into a 500: a failure to write is logged as one warning line.
    """

    WINDOW = dt.timedelta(minutes=10)

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 403:
            user = getattr(request, "user", None)
            if (user is not None and user.is_authenticated
                    and (getattr(request, "csrf_processing_done", False) or request.path.startswith("/api/"))):
                try:
                    self.record(request, user)
                except DatabaseError as exc:
                    logger.warning("could not record a refused request to %s: %s", request.path[:200], exc)
        return response

    def record(self, request, user) -> None:
        from django.db import transaction
        from django.utils import timezone

        from huikuan.common import audit
        from huikuan.common.models import AuditEvent

        path = request.path[:200]
        recent = AuditEvent.objects.filter(actor_id=user.pk, verb="accounts.permission.denied",
                                           at__gte=timezone.now() - self.WINDOW, data__path=path)
        if recent.exists():
            return
        company = getattr(request, "company", None)
        match = getattr(request, "resolver_match", None)
        with transaction.atomic():
            audit.record(actor=user, verb="accounts.permission.denied", target=None,
                         company_id=company.pk if company is not None else None,
                         summary=f"{request.method} {path}",
                         data={"path": path, "method": request.method, "role": user.role,
                               "view": match.view_name if match is not None else ""})
