from django.conf import settings


def shell(request):
    return {"LANGUAGES": settings.LANGUAGES, "company": getattr(request, "company", None),
            "companies": getattr(request, "companies", [])}
