"""People and payment terms named the way a file names them, each distinct value looked up once.

``People`` finds a user of the company by login, employee number or display name; a display name
shared by several users is an error that names them. ``Terms`` finds payment terms by code, by
name, or by what a usual spelling means ("月结30天" is the company's end-of-month + 30 terms, whatever
their code); spellings the install has no terms for are collected for the preview, where the user
decides once per file to create them (their meaning is shown first) or to use existing terms.
Both cache every distinct cell value: a 100,000-row file with 50 salespeople costs 50 look-ups.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from huikuan.accounts.models import User
from huikuan.customers.models import PaymentTerm

from .parsing import CellError, choice_key
from .problems import msg as _  # problems are stored as msgid + params (problems.py)
from .values import TermGuess, guess_terms


class People:
    def __init__(self, company):
        self.company = company
        self._cache: dict[str, User] = {}
        self._index: tuple[dict, dict, dict] | None = None

    def _load(self):
        if self._index is None:
            by_login, by_number, by_name = {}, {}, {}
            has_number = any(f.name == "employee_number" for f in User._meta.get_fields())
            for u in User.objects.filter(companies=self.company, is_active=True).order_by("pk"):
                by_login[u.username.strip().lower()] = u
                number = (getattr(u, "employee_number", "") or "").strip() if has_number else ""
                if number:
                    by_number[number.upper()] = u
                if u.display_name.strip():
                    by_name.setdefault(choice_key(u.display_name), []).append(u)
            self._index = by_login, by_number, by_name
        return self._index

    def find(self, text: str) -> User:
        """The user named by ``text``; CellError (with the candidates when ambiguous) otherwise."""
        key = text.strip()
        if key in self._cache:
            return self._cache[key]
        by_login, by_number, by_name = self._load()
        user = by_login.get(key.lower()) or by_number.get(key.upper())
        if user is None:
            found = by_name.get(choice_key(key), [])
            if len(found) > 1:
                names = "、".join(_candidate(u) for u in found)
                raise CellError(_("Several users are called %(name)s: %(candidates)s. Write the login or the "
                                  "employee number instead.") % {"name": key, "candidates": names})
            if not found:
                raise CellError(_("No active user of this company has this login, employee number or name."))
            user = found[0]
        self._cache[key] = user
        return user


def _candidate(user) -> str:
    number = getattr(user, "employee_number", "") or ""
    return f"{user.username}" + (f" ({number})" if number else "")


@dataclass
class PendingTerm:
    """Terms the user chose to create from a spelling in the file; created inside the import's commit."""

    text: str
    guess: TermGuess
    term: PaymentTerm | None = None

    @property
    def pk(self):
        return self.term.pk if self.term is not None else None


@dataclass
class Unknown:
    text: str
    guess: TermGuess | None
    rows: int = 0
    first_line: int = 0

    def as_dict(self) -> dict:
        return {"text": self.text, "rows": self.rows, "first_line": self.first_line,
                "code": self.guess.code() if self.guess else "",
                "meaning": self.guess.meaning() if self.guess else ""}


@dataclass
class Terms:
    """Payment terms of the company by code, name or meaning; ``decisions`` maps a file's spelling
    (its ``choice_key``) to "create" or to the code of existing terms."""

    company: object
    decisions: dict = field(default_factory=dict)
    unknown: dict[str, Unknown] = field(default_factory=dict)

    def __post_init__(self):
        self._cache: dict[str, object] = {}
        self._terms: list[PaymentTerm] | None = None
        self.pending: dict[str, PendingTerm] = {}

    def all(self) -> list[PaymentTerm]:
        if self._terms is None:
            # active first, so a spelling prefers live terms over retired ones with the same meaning
            self._terms = sorted(PaymentTerm.objects.filter(company=self.company), key=lambda t: (not t.active, t.code))
        return self._terms

    def by_code(self, code: str) -> PaymentTerm | None:
        wanted = code.strip().upper()
        return next((t for t in self.all() if t.code.upper() == wanted), None)

    def find(self, text: str, line: int):
        """PaymentTerm, PendingTerm, or None when unknown (collected in ``unknown``); CellError if a
        decision names terms that do not exist."""
        key = choice_key(text)
        if key in self._cache:
            found = self._cache[key]
        else:
            found = self._cache[key] = self._lookup(text, key)
        if found is None:
            entry = self.unknown.get(key)
            if entry is None:
                entry = self.unknown[key] = Unknown(text.strip(), guess_terms(text), first_line=line)
            entry.rows += 1
        return found

    def _lookup(self, text: str, key: str):
        decision = self.decisions.get(key)
        if decision == "create":
            guess = guess_terms(text)
            if guess is None:
                raise CellError(_("These payment terms cannot be created from their spelling; choose existing terms."))
            return self.pending.setdefault(key, PendingTerm(text.strip()[:100], guess))
        if decision:
            term = self.by_code(decision)
            if term is None:
                raise CellError(_("Payment terms %(code)s do not exist.") % {"code": decision})
            return term
        term = self.by_code(text)
        if term is not None:
            return term
        term = next((t for t in self.all() if choice_key(t.name) == key), None)
        if term is not None:
            return term
        guess = guess_terms(text)
        if guess is not None:
            return next((t for t in self.all() if t.active and guess.same_as(t)), None)
        return None

    def create_pending(self, *, actor, create) -> None:
        """Create the terms the user chose to create (``create`` is the service body), with a code
        free in this company; called inside the import's transaction before any row is written."""
        if not self.pending:
            return
        taken = {t.code.upper() for t in self.all()}
        for pending in self.pending.values():
            code, n = pending.guess.code(), 2
            while code.upper() in taken:
                code, n = f"{pending.guess.code()}-{n}", n + 1
            taken.add(code.upper())
            g = pending.guess
            pending.term = create(company=self.company, actor=actor, code=code, name=pending.text, kind=g.kind,
                                  days=g.days, discount_percent=g.discount_percent, discount_days=g.discount_days)


def term_pk(term) -> int | None:
    return None if term is None else term.pk


__all__ = ["People", "PendingTerm", "Terms", "Unknown", "term_pk"]
