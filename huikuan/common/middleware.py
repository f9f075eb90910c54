"""Refuse input that no database can store: NUL characters in query strings or form fields.

PostgreSQL rejects strings containing NUL (a 500 otherwise); the request is answered 400 (or the API's
422 envelope) before any view runs.
"""

from django.http import HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext as _


class RejectNulBytes:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        bad = "\x00" in request.path or any("\x00" in v for vs in request.GET.lists() for v in vs[1])
        if not bad and request.method == "POST" and request.content_type in (
            "application/x-www-form-urlencoded", "multipart/form-data"
        ):
            bad = any("\x00" in v for vs in request.POST.lists() for v in vs[1])
        if bad:
            message = _("The request contains a NUL character.")
            if request.path.startswith("/api/"):
                return JsonResponse({"error": {"code": "invalid", "message": message, "fields": {}}}, status=422)
            return HttpResponseBadRequest(message)
        return self.get_response(request)
