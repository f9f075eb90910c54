"""Customer search by substring through trigram indexes (issue 19).

A search for ``q`` matches code (prefix), name and short name (anywhere), pinyin initials and full pinyin,
and the 统一社会信用代码 — each selector states which (``selectors.customer_list``, ``customer_pick``).
Those conditions are kept as they are and ANDed with a *prefilter* that an index answers, and that every
row they match also passes, so the results are exactly those of the plain ``LIKE`` conditions:

- PostgreSQL: ``pg_trgm``'s GIN index over one expression, `SEARCH_TEXT` — the six fields upper-cased
  and joined with spaces (migration ``customers/0012``). The prefilter is ``SEARCH_TEXT LIKE '%Q%'``:
  any field containing ``q`` puts it in the joined text. The planner still chooses a scan in code order
  when the term is frequent (the first page stops after 50 rows), from the expression's statistics.
- SQLite: an FTS5 table with the trigram tokenizer (``customers_customer_search``, external content kept
  in sync by triggers); the prefilter is ``id IN (SELECT rowid … MATCH '"q"')``.

A trigram index cannot answer a term shorter than three characters. Such terms are searched by prefix
(`short_terms`): a one- or two-letter ASCII term by the start of code, name, short name or either
pinyin initials ("sh" finds 上海…, "C0" finds C001 — not every name with "sh" inside); on PostgreSQL
the prefilter is then "a word of the joined text begins with it" (``LIKE '% Q%'``, which ``pg_trgm``
answers from its word-start trigrams). One or two Chinese characters ("西湖") stay a search anywhere in
the name: a name has no word boundaries, and two characters are a real query in Chinese. PostgreSQL
answers it from a second GIN index, over the array of one- and two-character pieces of code, name and
short name (`GRAMS_TEXT`, migration ``customers/0013``); SQLite has no index for it (FTS5's trigram
tokenizer needs three characters) and reads the company's customers, stopping once a page and the capped
count are found.

The prefilter makes a rare term cheap, but not the first page of a frequent one ("上海" in thousands of
names): the planner, multiplying the prefilter's selectivity by the conditions' as if independent, expects a
few dozen rows and fetches every match through the index before taking a page in order, where a scan in the
list's order with the plain conditions stops after the page. So a list counts through the prefilter first,
then reads a page of a frequent term with the plain conditions (`scan_in_order`;
``selectors.search_page_plan``, used by the web list and the API): the same rows, another plan.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL

MIN_TRIGRAM = 3
FTS_TABLE = "customers_customer_search"
SEARCH_FIELDS = ("code", "name", "short_name", "name_initials", "name_pinyin", "credit_code")

# The indexed expression (PostgreSQL). The migration's index and the query must spell it the same way.
SEARCH_TEXT = (
    "UPPER(' ' || {t}code || ' ' || {t}name || ' ' || {t}short_name || ' ' || {t}name_initials || ' ' || "
    "{t}name_pinyin || ' ' || {t}credit_code)"
)


# One or two Chinese characters (PostgreSQL): the distinct one- and two-character pieces of code, name and
# short name that hold a non-ASCII character, in a GIN array index (migration customers/0013); a term of
# one or two characters is in a field exactly when it is one of these pieces (spaces excepted).
GRAMS_FUNCTION = """CREATE OR REPLACE FUNCTION customer_search_grams(t text) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT coalesce(array_agg(DISTINCT g), '{}') FROM (
    SELECT substr(t, i, 1) AS g FROM generate_series(1, char_length(t)) AS i
    UNION ALL SELECT substr(t, i, 2) FROM generate_series(1, char_length(t) - 1) AS i) AS grams
  WHERE g !~ '^[ -~]+$' AND position(' ' in g) = 0
$$"""
GRAMS_TEXT = "customer_search_grams(UPPER({t}code || ' ' || {t}name || ' ' || {t}short_name))"


def search_text_sql(table: str = "") -> str:
    return SEARCH_TEXT.format(t=f'"{table}".' if table else "")


def grams_sql(table: str = "") -> str:
    return GRAMS_TEXT.format(t=f'"{table}".' if table else "")


# A search whose count reaches FREQUENT reads its page by a scan in the list's order (``scan_in_order``):
# such a scan reads about (offset + limit) × customers / count rows, sequentially, where the index path
# fetches every match — each one a random heap read, about 30× a row of the ordered scan (bench/customer_search.py).
FREQUENT = 500
# Sorts an index serves in order (customers.models: company+code, +name, +open_amount, +unapplied_amount):
# the others sort every match anyway, which the prefilter keeps few.
ORDERED_SORTS = frozenset({"code", "-code", "name", "-name", "open_amount", "-open_amount",
                           "unapplied_amount", "-unapplied_amount"})


def scan_in_order(*, count: int, offset: int, limit: int, sort: str = "code") -> bool:
    """Whether the page ``[offset, offset + limit)`` of a search that matched ``count`` rows (capped counts
    included: the true count is no lower) is cheaper read by a scan in ``sort`` order with the plain
    conditions than through the prefilter: the term is frequent and the page lies in the first quarter."""
    return sort in ORDERED_SORTS and count >= FREQUENT and (offset + limit) * 4 <= count


def is_short(term: str) -> bool:
    """A term the trigram indexes cannot answer: searched by prefix when it is ASCII (see the module doc)."""
    return len(term) < MIN_TRIGRAM


def short_ascii(term: str) -> bool:
    return is_short(term) and term.isascii()


def _like_escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def prefilter(terms: list[str], *, word_start: bool = False) -> Q | None:
    """A condition an index answers that every row containing one of ``terms`` in a searched field passes
    (``word_start``: every row where a field, or a word of it, begins with one of them). None when the
    terms are too short for the index (the caller's conditions alone then decide)."""
    terms = [t for t in dict.fromkeys(terms) if t]
    if not terms:
        return None
    table = "customers_customer"
    if connection.vendor == "postgresql":
        parts, params = [], []
        for t in terms:
            if is_short(t) and not t.isascii():  # one or two Chinese characters: the pieces' array index
                parts.append(f"{grams_sql(table)} @> ARRAY[UPPER(%s)]")
                params.append(t)
            elif is_short(t) and not word_start:
                return None
            else:
                parts.append(f"{search_text_sql(table)} LIKE UPPER(%s)")
                params.append(f"% {_like_escape(t)}%" if word_start else f"%{_like_escape(t)}%")
        return Q(RawSQL(f"({' OR '.join(parts)})", params, output_field=BooleanField()))
    if connection.vendor == "sqlite":
        if word_start or any(is_short(t) for t in terms):
            return None
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
        sql = f'"{table}"."id" IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s)'
        return Q(RawSQL(sql, [match], output_field=BooleanField()))
    return None


def code_prefilter(term: str) -> Q | None:
    """A prefilter every row whose code begins with ``term`` (any case) passes. PostgreSQL: the code is the
    first word of `SEARCH_TEXT`, so "a word begins with it" (``LIKE '% Q%'``, from the word-start trigrams,
    whatever the term's length or script) — far narrower than "anywhere" for a term common inside names
    ("有限公司"). SQLite: the FTS match for three characters or more, none below."""
    if connection.vendor == "postgresql" and term:
        return Q(RawSQL(f"{search_text_sql('customers_customer')} LIKE UPPER(%s)", [f"% {_like_escape(term)}%"],
                        output_field=BooleanField()))
    return prefilter([term], word_start=short_ascii(term))
