"""MT940 (SWIFT customer statement) through the ``mt-940`` library.

Counterparty name and account come from the :86: field when it is structured (``?32``/``?33`` name,
``?31`` account, ``?20``–``?29`` remittance; or ``/NAME/``, ``/ACCT/``, ``/REMI/`` subfields); otherwise the
whole :86: text is the memo.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import mt940
from django.utils.translation import gettext as _

from .base import ParsedLine, ParsedStatement, StatementError, clean_text

_QMARK = re.compile(r"\?(\d{2})")
_SLASH = re.compile(r"/(NAME|ACCT|REMI|ORDP|BENM|EREF)/([^/]*)")


def looks_like(text: str) -> bool:
    return ":20:" in text[:2000] and (":61:" in text or ":60F:" in text or ":60M:" in text)


def _details(text: str) -> tuple[str, str, str]:
    """(name, account, memo) from a :86: text."""
    text = text.replace("\n", "")
    if _QMARK.search(text):
        parts: dict[str, str] = {}
        pieces = _QMARK.split(text)
        for code, value in zip(pieces[1::2], pieces[2::2], strict=False):
            parts[code] = parts.get(code, "") + value
        name = (parts.get("32", "") + parts.get("33", "")).strip()
        memo = "".join(parts.get(str(i), "") for i in range(20, 30)).strip()
        return name, parts.get("31", "").strip(), memo or text
    found = dict((k, v.strip()) for k, v in _SLASH.findall(text))
    if found:
        name = found.get("NAME") or found.get("ORDP") or ""
        return name, found.get("ACCT", ""), found.get("REMI") or text
    return "", "", text


def parse(data: bytes) -> ParsedStatement:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("gb18030", errors="strict")
    if not looks_like(text):
        raise StatementError(_("This is not an MT940 statement (no :20: and :61: fields)."))
    try:
        transactions = mt940.models.Transactions()
        transactions.parse(text)
    except Exception as exc:  # the library raises plain exceptions for malformed fields
        raise StatementError(_("The MT940 file could not be read: %(error)s") % {"error": exc}) from exc
    head = transactions.data
    out = ParsedStatement(format="mt940")
    out.account_number = clean_text(str(head.get("account_identification", "")).split("/")[-1])
    opening = head.get("final_opening_balance")
    closing = head.get("final_closing_balance")
    if opening is not None:
        out.opening_balance = Decimal(opening.amount.amount)
        out.currency = opening.amount.currency or ""
    if closing is not None:
        out.closing_balance = Decimal(closing.amount.amount)
    for n, tx in enumerate(transactions, start=1):
        d = tx.data
        amount = Decimal(d["amount"].amount).quantize(Decimal("0.01"))
        if amount == 0:
            continue
        day = d.get("date") or d.get("entry_date")
        name, account, memo = _details(d.get("transaction_details") or "")
        serial = d.get("bank_reference") or ""
        if not serial and d.get("customer_reference") not in (None, "", "NONREF"):
            serial = d["customer_reference"]
        out.lines.append(ParsedLine(
            line=n, date=dt.date(day.year, day.month, day.day),
            amount=amount, currency=d.get("currency") or out.currency,
            counterparty_name=clean_text(name)[:200], counterparty_account=clean_text(account).replace(" ", "")[:60],
            memo=clean_text(memo)[:500], serial=clean_text(serial)[:80],
        ))
    if not out.lines:
        raise StatementError(_("The file contains no transactions."))
    return out
