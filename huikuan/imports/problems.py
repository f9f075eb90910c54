"""Import problems are stored as message ids with parameters and shown in the reader's language.

The parsing and row-checking modules of this app use ``msg`` as their ``_`` (makemessages still extracts the
strings): ``_("Duplicate of line %(line)d in this file.") % {"line": 3}`` gives a ``Text`` (the catalog msgid and
its typed parameters), never a sentence in the uploader's language; ``str()`` of an unformatted one renders it in
the active language. ``problem_text`` turns whatever a check produced (that, a lazy message, a ``DomainError``
raised by a service) into what ``ImportJob.errors`` / ``warnings`` store (``common.texts.dump``).
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext

from huikuan.common.errors import DomainError
from huikuan.common.texts import Text, from_error


def _lazy_text(value):
    args = getattr(value, "_args", None)
    return Text.of_msgid(str(args[0])) if args and len(args) == 1 else str(value)


class Msg:
    """A problem message: ``% params`` → ``Text``; ``str()`` → the active language."""

    __slots__ = ("msgid",)

    def __init__(self, msgid: str):
        self.msgid = msgid

    def __mod__(self, params) -> Text:
        return Text.of_msgid(self.msgid, **{k: _lazy_text(v) if isinstance(v, Promise) else v for k, v in params.items()})

    def __str__(self) -> str:
        return gettext(self.msgid)

    def text(self) -> Text:
        return Text.of_msgid(self.msgid)


def msg(msgid: str) -> Msg:
    return Msg(msgid)


def problem_text(reason) -> Text | str:
    """What to store for a problem's reason: a ``Text`` whenever the message came from the catalog."""
    if isinstance(reason, Text):
        return reason
    if isinstance(reason, Msg):
        return reason.text()
    if isinstance(reason, DomainError):
        message = getattr(reason, "message", None)
        if isinstance(message, Msg | Text):
            return problem_text(message)
        return from_error(reason)
    if isinstance(reason, Promise):
        return _lazy_text(reason)
    return str(reason)
