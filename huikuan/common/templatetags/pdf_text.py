"""Text placed inside CSS in the PDF templates (``@page`` headers and footers: ``content: …``).

``escapejs`` writes JavaScript escapes (``\\u002D``) that CSS does not know, so a PDF footer printed
``DN20270120u002D208u002D5``; HTML autoescaping does not help either (``<style>`` is raw text, so
``&amp;`` would print as is). ``css_string`` builds the CSS string itself: quoted, with the characters
that could end the string or the style element written as CSS hex escapes.
"""

from django import template
from django.utils.safestring import mark_safe

register = template.Library()

_ESCAPE = set('\\"\'<>&')


@register.filter
def css_string(value) -> str:
    """``value`` as a quoted CSS string, e.g. for ``content: {{ number|css_string }} counter(page)``."""
    out = []
    for ch in str(value if value is not None else ""):
        if ch in _ESCAPE or ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\{ord(ch):X} ")
        else:
            out.append(ch)
    return mark_safe('"' + "".join(out) + '"')  # noqa: S308 - every character that could break out is escaped
