"""Permission classes of API v1 (``REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"]``)."""

from rest_framework import exceptions, permissions

WRITES = ("POST", "PUT", "PATCH")


class JsonBodiesOnly(permissions.BasePermission):
    """A write whose body is not JSON (a form or multipart post) is refused with 415 before the view
    runs — even an empty one, which DRF would otherwise read as an empty form and answer 422."""

    def has_permission(self, request, view):
        if request.method in WRITES:
            media = (request.content_type or "").split(";")[0].strip().lower()
            if media and not (media == "application/json" or media.endswith("+json")):
                raise exceptions.UnsupportedMediaType(media)
        return True
