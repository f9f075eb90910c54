"""The server-error handler (``handler500``): a database that cannot be reached is 503, not 500.

When PostgreSQL restarts, fails over or refuses connections (and when SQLite stays locked past its timeout),
the request that met it answers **503** with ``Retry-After`` — the styled page in the user's language, or the
API's JSON envelope with ``database_unavailable`` — and the next request after the database is back is
served by the same process: Django drops the broken connection (health checks) and opens a new one.
Everything else stays the ordinary 500.
"""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.utils.translation import gettext as _

from huikuan.common.middleware import RETRY_AFTER_SECONDS, database_unavailable_json


def server_error(request, *args, **kwargs):
    unavailable = isinstance(sys.exc_info()[1], (OperationalError, InterfaceError))
    if request.path.startswith("/api/"):
        if unavailable:
            return database_unavailable_json()
        return JsonResponse({"error": {"code": "server_error", "fields": {}, "message": _(
            "Something went wrong on our side; the error was logged. Try again later.")}}, status=500)
    # rendered without a request context: nothing on the page may query the database
    template = loader.get_template("503.html" if unavailable else "500.html")
    response = HttpResponse(template.render({}), status=503 if unavailable else 500)
    if unavailable:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
