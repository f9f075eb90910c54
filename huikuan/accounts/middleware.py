"""Attach the active company (our legal entity) to the request."""

from .models import Company


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
