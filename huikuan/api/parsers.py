"""The API's JSON parser: DRF's, plus the edge rule on text (``common.cleantext``) — a control character other
than tab, line feed or carriage return anywhere in the body is a 422 naming the field, never stored."""

from django.utils.translation import gettext as _
from rest_framework import exceptions, parsers

from huikuan.common.cleantext import find_control


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        found = find_control(data)
        if found:
            field, char = found
            raise exceptions.ValidationError({field or "non_field_errors": [
                _("Contains a control character (%(char)s): remove it.") % {"char": char}]})
        return data
