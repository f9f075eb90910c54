"""``SchemaView`` serves the OpenAPI schema in English whatever the request's language, and honours
``?format=json`` / ``?format=yaml`` (the rest of the API keeps URL format overrides off)."""

from django.utils import translation
from drf_spectacular.renderers import (
    OpenApiJsonRenderer,
    OpenApiJsonRenderer2,
    OpenApiYamlRenderer,
    OpenApiYamlRenderer2,
)
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework.exceptions import NotFound


class SchemaView(SpectacularAPIView):
    """The OpenAPI 3 schema of API v1 (YAML by default; `?format=json` or `Accept: application/json` for JSON)."""

    renderer_classes = [OpenApiYamlRenderer, OpenApiYamlRenderer2, OpenApiJsonRenderer, OpenApiJsonRenderer2]
    by_format = {"yaml": OpenApiYamlRenderer, "json": OpenApiJsonRenderer2}

    def perform_content_negotiation(self, request, force=False):
        wanted = request.query_params.get("format")
        if wanted:
            renderer = self.by_format.get(wanted)
            if renderer is None and not force:
                raise NotFound
            if renderer is not None:
                return renderer(), renderer.media_type
        return super().perform_content_negotiation(request, force)

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        with translation.override("en"):  # the contract is English, whatever the caller's language
            return super().get(request, *args, **kwargs)
