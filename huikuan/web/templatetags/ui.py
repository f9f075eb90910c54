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


@register.simple_tag(takes_context=True)
def sort_th(context, key, label, css="", first="", path=""):
    """A sortable column header: ``{% sort_th "amount" _("Amount") "num" "-" %}``.

    The link keeps every filter of the page, drops the page number and flips the direction when the
    column is already the sort; ``first="-"`` makes the first click sort descending (amounts, dates);
    ``path`` is the list's own URL when the table is a fragment shown inside another page.
    Reads ``sort`` (``common.listing.SortState``) from the context; without it the header is plain.
    """
    state = context.get("sort")
    request = context.get("request")
    if state is None or request is None or key not in getattr(state, "keys", ()):
        return format_html('<th class="{}">{}</th>', css, label)
    current = state.key == key
    if current:
        target = key if state.descending else f"-{key}"
    else:
        target = f"{first}{key}" if first == "-" else key
    params = request.GET.copy()
    params.pop("page", None)
    params["sort"] = target
    arrow = ("▼" if state.descending else "▲") if current else ""
    aria = ("descending" if state.descending else "ascending") if current else "none"
    return format_html(
        # data-label: the card label on a phone (app.js) is the column's name, without the arrow
        '<th class="{} sortable" data-label="{}" aria-sort="{}"><a href="{}?{}" data-sort="{}">{}<span class="arrow">{}</span></a></th>',
        css, label, aria, path, params.urlencode(), key, label, arrow,
    )


@register.filter
def filtered(get):
    """``{% if request.GET|filtered %}``: the list is narrowed by a filter (not by paging or sorting)."""
    from huikuan.common.listing import is_filtered

    return is_filtered(get)
