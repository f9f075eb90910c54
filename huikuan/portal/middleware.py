"""The portal's own session: a separate cookie, path ``/portal/``, never the staff session.

Staff sign-in lives in Django's ``sessionid`` cookie (``request.user``); a portal sign-in lives in the
``hk_portal`` cookie (``request.portal_access``), read only for URLs under ``/portal/``. The two never
mix: a portal session carries no ``_auth_user_id`` so staff URLs see an anonymous user, and portal
views look only at ``request.portal_access`` so a staff sign-in opens nothing there.
"""

from importlib import import_module

from django.conf import settings
from django.utils.cache import patch_vary_headers

from .models import PortalAccess

COOKIE = "hk_portal"
PREFIX = "/portal/"
AGE = 8 * 3600  # seconds a portal session lives (re-sign-in with a link or code after)


def _store():
    return import_module(settings.SESSION_ENGINE).SessionStore


class PortalSessionMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.portal_access = None
        if not request.path.startswith(PREFIX):
            return self.get_response(request)
        session = _store()(request.COOKIES.get(COOKIE))
        request.portal_session = session
        access_id, gen = session.get("portal_access"), session.get("portal_gen")
        if access_id:
            access = (PortalAccess.objects.filter(pk=access_id, is_active=True, contact__is_active=True)
                      .select_related("contact", "customer__company").first())
            if access is not None and access.generation == gen:
                request.portal_access = access
            else:
                session.flush()
        response = self.get_response(request)
        patch_vary_headers(response, ("Cookie",))
        if session.modified:
            if session.is_empty():
                response.delete_cookie(COOKIE, path=PREFIX)
            else:
                session.set_expiry(AGE)
                session.save()
                response.set_cookie(COOKIE, session.session_key, max_age=AGE, path=PREFIX, secure=request.is_secure(),
                                    httponly=True, samesite="Lax")
        return response


def sign_in(request, access: PortalAccess) -> None:
    """Start a fresh portal session for ``access`` (a new key: no fixation)."""
    session = request.portal_session
    session.flush()
    session["portal_access"] = access.pk
    session["portal_gen"] = access.generation
    request.portal_access = access


def sign_out(request) -> None:
    request.portal_session.flush()
    request.portal_access = None
