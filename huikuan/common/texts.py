"""Text the system writes for people to read later, stored as a code with parameters.

A sentence composed by the system and read later — a hold reason, an import problem, the outcome
of a playbook step, a line of the customer timeline — is stored as ``{"code": ..., "params": {...}}``
and rendered when it is shown, in the reader's language. A stored sentence in the writer's language
is a bug (a Chinese clerk's hold reason would read Chinese to an English-speaking manager, and the
other way round), and so is a raw code on a page.

Each app registers its codes with the English source text (a lazy gettext, so makemessages extracts
it) in ``AppConfig.ready()`` or at import of the module that uses them::

    texts.register({"credit.hold.overdue_rule": _("%(days)s days overdue, %(amount)s overdue (grade %(grade)s rule)")})
    reason = texts.Text("credit.hold.overdue_rule", days=45, amount=Decimal("1200.00"), grade="C")

Parameters are stored typed and formatted for the reader: ``Decimal`` as money (grouped in the
reader's locale, two decimals, half-up as everywhere), dates as ``YYYY-MM-DD``, a nested ``Text`` (for
example a choice label, see ``register_choices``) in the reader's language, lists joined with the
reader's list separator. Plain strings are data (a notice number, a customer name, what a user typed)
and are shown as they are.

Text typed by a user (a manual hold reason, a note) stays a plain string: it is the user's words, not
the system's. ``StoredTextField`` stores either form in one JSON column and gives back a ``Text`` or a
``str``; both render with ``str()``, so templates and exports need no change.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext, pgettext

logger = logging.getLogger(__name__)

_MESSAGES: dict[str, Promise | str] = {}


def register(messages: Mapping[str, Promise | str]) -> None:
    """Register codes with their English source text (``gettext_lazy`` / ``gettext_noop``, so the
    catalog has them). Registering the same code with another text is a programming error."""
    for code, msgid in messages.items():
        known = _MESSAGES.get(code)
        if known is not None and _source(known) != _source(msgid):
            raise ValueError(f"text code {code!r} registered twice with different texts")
        _MESSAGES[code] = msgid


def register_choices(prefix: str, choices: type[models.Choices]) -> None:
    """Every member of a ``TextChoices`` becomes the code ``<prefix>.<value>`` with its label."""
    register({f"{prefix}.{value}": label for value, label in choices.choices})


def is_registered(code: str) -> bool:
    return code in _MESSAGES


def registered_codes() -> frozenset[str]:
    return frozenset(_MESSAGES)


def _source(msgid) -> tuple:
    """The untranslated source of a lazy (p)gettext (or the string itself)."""
    args = getattr(msgid, "_args", None)  # django.utils.functional.lazy keeps its call arguments
    return tuple(args) if args else (str(msgid),)


def _translated(msgid) -> str:
    return str(msgid) if isinstance(msgid, Promise) else gettext(msgid)


class Text:
    """A message code with its parameters; ``str()`` renders it in the active language.

    ``Text.of_msgid`` is the second form, for messages that already exist as a catalog msgid (a
    ``DomainError`` raised with a lazy message): the English msgid itself is stored and translated when
    shown — what the dunning outbox did with its reasons before codes existed.
    """

    __slots__ = ("code", "msgid", "params")

    def __init__(self, code: str, /, **params):
        if code not in _MESSAGES:
            raise KeyError(f"unregistered text code {code!r}")
        self.code = code
        self.msgid = ""
        self.params = {k: _encode(v) for k, v in params.items()}

    @classmethod
    def of_msgid(cls, msgid: str, /, **params) -> Text:
        obj = cls.__new__(cls)
        obj.code, obj.msgid = "", str(msgid)
        obj.params = {k: _encode(v) for k, v in params.items()}
        return obj

    @classmethod
    def from_data(cls, data: Mapping) -> Text:
        obj = cls.__new__(cls)
        obj.code = str(data.get("code") or "")
        obj.msgid = "" if obj.code else str(data.get("msgid") or "")
        obj.params = dict(data.get("params") or {})
        return obj

    def as_data(self) -> dict:
        out = {"code": self.code} if self.code else {"msgid": self.msgid}
        if self.params:
            out["params"] = self.params
        return out

    def __str__(self) -> str:
        if not self.code:
            return _format(gettext(self.msgid) if self.msgid else "", self.params, self.msgid)
        return _render_message(self.code, self.params)

    def __html__(self) -> str:  # let templates escape the rendered text, never the code
        from django.utils.html import escape

        return str(escape(str(self)))

    def __repr__(self) -> str:
        return f"Text({self.code or self.msgid!r}, {self.params!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Text) and (self.code, self.msgid, self.params) == (other.code, other.msgid, other.params)

    def __hash__(self) -> int:
        return hash((self.code, self.msgid))


def _is_stored_text(value) -> bool:
    return isinstance(value, dict) and ("code" in value or "msgid" in value)


def from_error(exc) -> Text | str:
    """A ``DomainError``'s message to store: its catalog msgid (with the error's params) when it was raised
    with a lazy message, otherwise the message as it was formatted (in the active language — run the
    step under ``translation.override("en")`` so at least it is not a third language)."""
    message = getattr(exc, "message", None)
    args = getattr(message, "_args", None)
    if isinstance(message, Promise) and args and len(args) == 1:
        try:
            return Text.of_msgid(str(args[0]), **(getattr(exc, "params", None) or {}))
        except TypeError:
            pass
    return str(exc)


def _encode(value):
    """A parameter as JSON that keeps its type for rendering."""
    if isinstance(value, Text):
        return value.as_data()
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, Decimal):
        return {"money": str(value)}
    if isinstance(value, dt.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if isinstance(value, Promise):
        raise TypeError("a translated string cannot be stored (it would keep the writer's language): "
                        "register a code and pass Text(code)")
    if isinstance(value, dict) and (_is_stored_text(value) or "money" in value or "date" in value):
        return value  # already encoded (copied from a stored Text)
    raise TypeError(f"cannot store {type(value).__name__} as a text parameter")


def _param(value) -> str:
    """One stored parameter, formatted for the reader."""
    if isinstance(value, dict):
        if _is_stored_text(value):
            return str(Text.from_data(value))
        if "money" in value:
            from django.template.defaultfilters import floatformat

            return floatformat(Decimal(value["money"]), "2g")
        if "date" in value:
            return str(value["date"])
        if "datetime" in value:
            from django.utils import timezone

            moment = dt.datetime.fromisoformat(value["datetime"])
            if timezone.is_aware(moment):
                moment = timezone.localtime(moment)
            return moment.strftime("%Y-%m-%d %H:%M")
        return ""
    if isinstance(value, list):
        return pgettext("list separator", ", ").join(_param(v) for v in value)
    if value is None:
        return "—"
    if value is True or value is False:
        return gettext("Yes") if value else gettext("No")
    return str(value)


def _format(template: str, params: Mapping, what: str) -> str:
    if not params:
        return template
    try:
        # whole numbers stay numbers, so "%(line)d" formats as well as "%(line)s"
        return template % {k: v if type(v) is int else _param(v) for k, v in params.items()}
    except (KeyError, ValueError, TypeError):
        logger.warning("text %s does not fit its parameters %r", what, params)
        return template


def _render_message(code: str, params: Mapping) -> str:
    msgid = _MESSAGES.get(code)
    if msgid is None:  # a code no longer registered: never show the code itself
        logger.warning("unregistered text code %s", code)
        values = [_param(v) for v in params.values()]
        return " ".join([gettext("(message no longer available)"), *values]).strip()
    return _format(_translated(msgid), params, code)


def render(value) -> str:
    """Whatever a ``StoredTextField`` holds (``Text``, stored dict, plain string, None) in the reader's language."""
    if value is None or value == "":
        return ""
    if isinstance(value, Text):
        return str(value)
    if _is_stored_text(value):
        return str(Text.from_data(value))
    if isinstance(value, list):
        return pgettext("list separator", ", ").join(render(v) for v in value)
    return str(value)


def load(value):
    """A stored JSON value back as ``Text`` (dict with a code or msgid), ``str`` or None."""
    if _is_stored_text(value):
        return Text.from_data(value)
    if value is None or isinstance(value, str):
        return value
    return str(value)


def dump(value):
    """``Text`` / str / None as the JSON value to store."""
    if isinstance(value, Text):
        return value.as_data()
    if value is None or isinstance(value, str):
        return value
    if _is_stored_text(value):
        return value
    if isinstance(value, Promise):
        raise TypeError("a translated string cannot be stored: register a code and pass Text(code)")
    return str(value)


def join(values: Iterable) -> str:
    return pgettext("list separator", ", ").join(render(v) for v in values)


class StoredTextField(models.JSONField):
    """A JSON column holding a ``Text`` (as ``{"code", "params"}``) or a plain string typed by a user.

    Python sees ``Text`` | ``str`` | ``None``; ``str(value)`` renders it in the active language.
    """

    def from_db_value(self, value, expression, connection):
        return load(super().from_db_value(value, expression, connection))

    def to_python(self, value):
        return load(value)

    def get_prep_value(self, value):
        return super().get_prep_value(dump(value))

    def value_to_string(self, obj):
        return render(self.value_from_object(obj))


# ---------------------------------------------------------------- recognising old stored sentences

LANGUAGES = ("en", "zh-hans")


def _pattern(template: str):
    import re

    out, pos = [], 0
    for m in re.finditer(r"%\((\w+)\)([sd])|%%", template):
        out.append(re.escape(template[pos:m.start()]))
        if m.group(0) == "%%":
            out.append("%")
        else:
            out.append(rf"(?P<{m.group(1)}>-?\d+)" if m.group(2) == "d" else rf"(?P<{m.group(1)}>.+?)")
        pos = m.end()
    out.append(re.escape(template[pos:]))
    return re.compile("".join(out), re.S)


def _typed(value: str, kind):
    from django.utils import translation

    if kind == "money":
        cleaned = value.replace(",", "").replace("，", "").strip()
        try:
            return Decimal(cleaned)
        except InvalidOperation:
            return value
    if kind == "int":
        try:
            return int(value)
        except ValueError:
            return value
    if isinstance(kind, str) and kind.startswith("choice:"):
        prefix = kind[7:] + "."
        for code in sorted(_MESSAGES):
            if code.startswith(prefix):
                for lang in LANGUAGES:
                    with translation.override(lang):
                        if _translated(_MESSAGES[code]) == value:
                            return Text(code)
        return value
    return value


def recognise(text: str, codes: Mapping[str, Mapping[str, str]]) -> Text | None:
    """A sentence stored by an earlier version in its writer's language, back as a ``Text``.

    ``codes`` maps each candidate code to the kinds of its parameters (``"money"``, ``"int"``,
    ``"choice:<prefix>"`` for a label registered with ``register_choices``; others stay strings). The
    sentence is matched against each code's text in English and in Chinese. None when nothing fits —
    the caller keeps the old sentence as plain text. Used by data migrations and for old audit data.
    """
    from django.utils import translation

    text = (text or "").strip()
    if not text:
        return None
    for lang in LANGUAGES:
        with translation.override(lang):
            for code, kinds in codes.items():
                if code not in _MESSAGES:
                    continue
                m = _pattern(_translated(_MESSAGES[code])).fullmatch(text)
                if m:
                    params = {k: _typed(v, kinds.get(k)) for k, v in m.groupdict().items()}
                    return Text(code, **params)
    return None
