"""CAMT.053 (ISO 20022 bank-to-customer statement), any ``camt.053.001.xx`` version.

Parsed with defusedxml (no entities, no external references: a billion-laughs file is refused).
One file may hold several statements; their entries are read in order. Entries with status other
than booked (BOOK) are skipped.
"""

from __future__ import annotations

import datetime as dt

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException
from django.utils.translation import gettext as _

from .base import ParsedLine, ParsedStatement, StatementError, clean_text, parse_amount, parse_day


def looks_like(head: bytes) -> bool:
    return b"camt.053" in head or b"BkToCstmrStmt" in head


def _strip(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(el, *path):
    for name in path:
        if el is None:
            return None
        el = next((c for c in el if _strip(c.tag) == name), None)
    return el


def _children(el, name):
    return [c for c in el if _strip(c.tag) == name] if el is not None else []


def _text(el, *path) -> str:
    found = _child(el, *path)
    return clean_text(found.text) if found is not None and found.text else ""


def _signed(amt_text: str, indicator: str):
    value = parse_amount(amt_text)
    if value is None:
        return None
    return value if indicator == "CRDT" else -value


def _date(el) -> dt.date | None:
    return parse_day(_text(el, "Dt") or _text(el, "DtTm"))


def parse(data: bytes) -> ParsedStatement:
    try:
        root = ElementTree.fromstring(data)
    except (ElementTree.ParseError, DefusedXmlException, ValueError) as exc:
        raise StatementError(_("The XML file could not be read: %(error)s") % {"error": exc}) from exc
    body = _child(root, "BkToCstmrStmt")
    if body is None:
        raise StatementError(_("This XML file is not a CAMT.053 bank statement."))
    out = ParsedStatement(format="camt053")
    n = 0
    for stmt in _children(body, "Stmt"):
        acct = _child(stmt, "Acct")
        out.account_number = out.account_number or _text(acct, "Id", "IBAN") or _text(acct, "Id", "Othr", "Id")
        out.currency = out.currency or _text(acct, "Ccy")
        for bal in _children(stmt, "Bal"):
            code = _text(bal, "Tp", "CdOrPrtry", "Cd")
            amt = _child(bal, "Amt")
            value = _signed(amt.text if amt is not None else "", _text(bal, "CdtDbtInd"))
            if code in ("OPBD", "PRCD") and out.opening_balance is None:
                out.opening_balance = value
                out.currency = out.currency or (amt.get("Ccy") if amt is not None else "")
            elif code == "CLBD":
                out.closing_balance = value
        for entry in _children(stmt, "Ntry"):
            n += 1
            status = _text(entry, "Sts") or _text(entry, "Sts", "Cd")
            if status and status not in ("BOOK",):
                continue
            amt = _child(entry, "Amt")
            try:
                amount = _signed(amt.text if amt is not None else "", _text(entry, "CdtDbtInd"))
                day = _date(_child(entry, "BookgDt")) or _date(_child(entry, "ValDt"))
            except ValueError as exc:
                raise StatementError(_("Entry %(n)s has an invalid amount or date.") % {"n": n}) from exc
            if amount is None or day is None:
                raise StatementError(_("Entry %(n)s has no amount or no booking date.") % {"n": n})
            tx = _child(entry, "NtryDtls", "TxDtls")
            incoming = amount > 0
            party = _child(tx, "RltdPties", "Dbtr" if incoming else "Cdtr")
            party_acct = _child(tx, "RltdPties", "DbtrAcct" if incoming else "CdtrAcct")
            name = _text(party, "Nm") or _text(party, "Pty", "Nm")
            account = _text(party_acct, "Id", "IBAN") or _text(party_acct, "Id", "Othr", "Id")
            memo_parts = [clean_text(u.text) for u in _children(_child(tx, "RmtInf"), "Ustrd") if u.text]
            memo_parts += [_text(tx, "RmtInf", "Strd", "CdtrRefInf", "Ref")]
            memo_parts += [_text(entry, "AddtlNtryInf")]
            serial = _text(entry, "AcctSvcrRef") or _text(tx, "Refs", "AcctSvcrRef") or _text(entry, "NtryRef")
            out.lines.append(ParsedLine(
                line=n, date=day, amount=amount, currency=(amt.get("Ccy") or "") if amt is not None else "",
                counterparty_name=name[:200], counterparty_account=account.replace(" ", "")[:60],
                counterparty_bank=_text(tx, "RltdAgts", "DbtrAgt" if incoming else "CdtrAgt", "FinInstnId", "Nm")[:200],
                memo=" ".join(p for p in memo_parts if p)[:500], serial=serial[:80],
            ))
    if not out.lines:
        raise StatementError(_("The file contains no transactions."))
    return out
