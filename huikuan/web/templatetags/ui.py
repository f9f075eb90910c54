"""Small presentation helpers shared by every staff template: ``{% load ui %}``.

- ``{{ contact.phone|tel }}`` — the number as a tap-to-call link (``tel:``), as typed on screen;
- ``{{ contact.email|mailto }}`` — the address as a tap-to-email link.
"""

import re

from django import template
from django.utils.html import format_html

from huikuan.common.numbers import whole_percent

register = template.Library()

# Chinese office numbers carry an extension after 转 / 分机 / ext / x: dialled after a pause (",")
_EXTENSION = re.compile(r"\s*(?:转|分机|ext\.?|x)\s*(\d+)\s*$", re.IGNORECASE)


def tel_href(number: str) -> str:
    """The ``tel:`` URI of a typed phone number: digits and a leading +, extension after a pause."""
    text = (number or "").strip()
    ext = ""
    m = _EXTENSION.search(text)
    if m:
        ext, text = m.group(1), text[: m.start()]
    text = text.translate(str.maketrans("０１２３４５６７８９＋", "0123456789+"))  # full-width digits
    digits = re.sub(r"[^\d+]", "", text)
    digits = digits[:1] + digits[1:].replace("+", "")
    if not re.search(r"\d", digits):
        return ""
    return f"tel:{digits}" + (f",{ext}" if ext else "")


@register.filter
def tel(number):
    href = tel_href(str(number or ""))
    if not href:
        return number or ""
    return format_html('<a class="tel" href="{}">{}</a>', href, number)


@register.filter
def percent(ratio):
    """``{{ line.confidence|percent }}`` → ``96%``: the one rounding of a ratio shown as a percentage."""
    if ratio in (None, ""):
        return ""
    return f"{whole_percent(ratio)}%"


@register.filter
def mailto(address):
    address = (address or "").strip()
    if "@" not in address:
        return address
    return format_html('<a class="mailto" href="mailto:{}">{}</a>', address, address)
