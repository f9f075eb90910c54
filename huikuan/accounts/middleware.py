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
