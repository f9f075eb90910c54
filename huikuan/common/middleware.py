"""Refuse input that no database or file format should store: control characters in the path, query strings
or form fields.

PostgreSQL rejects strings containing NUL (a 500 otherwise), and XLSX cannot hold most C0 control
characters (a customer called ``Bell\\x07Co`` broke every export it appeared in). Tab, line feed and carriage
return are allowed; any other C0 control or DEL makes the request 400 (or the API's 422 envelope) before any
view runs, naming the character (``common.cleantext``). JSON bodies are checked by the API's parser.
"""

import logging

from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext as _

from .cleantext import first_control

logger = logging.getLogger("django.request")


class RejectControlCharacters:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        found = first_control(request.path) or next(
            (c for vs in request.GET.lists() for v in [vs[0], *vs[1]] if (c := first_control(v))), None)
        if not found and request.method in ("POST", "PUT", "PATCH") and request.content_type in (
            "application/x-www-form-urlencoded", "multipart/form-data"
        ):
            found = next((c for vs in request.POST.lists() for v in [vs[0], *vs[1]] if (c := first_control(v))), None)
        if found:
            if found == "U+0000":
                message = _("The request contains a NUL character.")
            else:
                message = _("The text contains a control character (%(char)s) that cannot be stored; remove it "
                            "(it often comes with text copied from another program).") % {"char": found}
            if request.path.startswith("/api/"):
                return JsonResponse({"error": {"code": "invalid", "message": message, "fields": {}}}, status=422)
            return HttpResponseBadRequest(message)
        return self.get_response(request)


RETRY_AFTER_SECONDS = 30


def database_unavailable_json() -> JsonResponse:
    """503 in the API's envelope, for a request that met a database it cannot reach (restarting, failing over)."""
    response = JsonResponse({"error": {"code": "database_unavailable", "fields": {}, "message": _(
        "The database cannot be reached right now. Try again in a minute.")}}, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class ErrorsAsClientErrors:
    """The last line behind the views' own checks.

    - A number too large for the database (an ``OverflowError`` from the SQLite driver or Python's
      int → C conversions, e.g. a 30-digit id or page in a query string) is the client's error: 400, never 500.
    - On ``/api/`` paths every unhandled error answers the API's JSON envelope (500 ``server_error``) instead of
      the HTML error page; the traceback is still logged, once, as Django would.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        api = request.path.startswith("/api/")
        if isinstance(exception, OverflowError):
            message = _("A number in the request is out of range.")
            if api:
                return JsonResponse({"error": {"code": "out_of_range", "message": message, "fields": {}}}, status=400)
            return HttpResponseBadRequest(message)
        if api and isinstance(exception, (OperationalError, InterfaceError)):  # the database is unreachable: 503
            logger.error("Database unavailable: %s", request.path, exc_info=exception,
                         extra={"status_code": 503, "request": request})
            return database_unavailable_json()
        if api and not isinstance(exception, (PermissionDenied, Http404)):
            logger.error("Internal Server Error: %s", request.path, exc_info=exception,
                         extra={"status_code": 500, "request": request})
            return JsonResponse({"error": {"code": "server_error", "message": _("Something went wrong on our side; "
                                 "the error was logged. Try again later."), "fields": {}}}, status=500)
        return None
