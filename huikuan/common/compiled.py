"""A ``values()`` statement filtered by ``field IN (ids)``, compiled once and run many times.

A list endpoint reads its page's rows by their ids (``api.serializers.Rows``): the same statement with other
ids on every request. Building the queryset (``filter(pk__in=…)``, the joins of its lookups) and compiling it
to SQL was about a third of that read's CPU, more than running it (docs/PERFORMANCE.md, issue 19).
``ValuesIn`` compiles the statement once per number of ids and database (with stand-in ids) and then only
substitutes the ids and runs it, through the connection's cursor (the statement is still seen by query
counts and execute wrappers). Rows come back as ``values()`` gives them: dicts keyed by the lookups, every
value through the fields' converters (``from_db_value``: money, dates, timezone-aware datetimes on SQLite).

The stand-ins are negative ids, which no row has: a queryset whose SQL does not carry them as the
statement's only parameters of that kind (a backend that rewrites the ``IN`` list, a filter already holding
such a value) is run through the ORM as before.
"""

from __future__ import annotations

import threading

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet


class _Statement:
    __slots__ = ("converters", "names", "params", "slots", "sql")

    def __init__(self, sql: str, params: list, slots: list[int], names: list[str], converters: list):
        self.sql, self.params, self.slots, self.names, self.converters = sql, params, slots, names, converters


class ValuesIn:
    """``base.filter(<field>__in=ids)`` as ``values()`` dicts, the statement compiled once per (database, len(ids)).

    ``base`` is a ``values()`` queryset (its ordering is kept); ``field`` a field of its model (``"pk"``,
    ``"document_id"``). Thread-safe: the compiled statements hold no connection; converters get the calling
    thread's.
    """

    MAX_IDS = 1_000  # larger lists are run through the ORM (a compiled statement is kept per length)

    def __init__(self, base: QuerySet, field: str = "pk"):
        self.base = base
        self.field = field
        self._statements: dict[tuple[str, int], _Statement | None] = {}
        self._lock = threading.Lock()

    def __call__(self, ids) -> list[dict]:
        ids = list(dict.fromkeys(ids))  # IN drops duplicates too
        if not ids:
            return []
        alias = self.base.db
        statement = self._statement(alias, len(ids))
        if statement is None:
            return list(self.base.filter(**{f"{self.field}__in": ids}))
        params = list(statement.params)
        for slot, value in zip(statement.slots, ids, strict=True):
            params[slot] = value
        connection = connections[alias]
        with connection.cursor() as cursor:
            cursor.execute(statement.sql, params)
            rows = cursor.fetchall()
        names, converters = statement.names, statement.converters
        if converters:
            out = []
            for row in rows:
                row = list(row)
                for pos, convs, expression in converters:
                    value = row[pos]
                    for convert in convs:
                        value = convert(value, expression, connection)
                    row[pos] = value
                out.append(dict(zip(names, row, strict=True)))
            return out
        return [dict(zip(names, row, strict=True)) for row in rows]

    def _statement(self, alias: str, n: int) -> _Statement | None:
        key = (alias, n)
        try:
            return self._statements[key]
        except KeyError:
            pass
        statement = self._compile(alias, n) if n <= self.MAX_IDS else None
        with self._lock:
            return self._statements.setdefault(key, statement)

    def _compile(self, alias: str, n: int) -> _Statement | None:
        stand_ins = [-(i + 1) for i in range(n)]
        qs = self.base.filter(**{f"{self.field}__in": stand_ins})
        query = qs.query
        compiler = query.get_compiler(using=alias)
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:  # the base matches nothing: the ORM answers that without a statement
            return None
        params = list(params)
        slots = [i for i, p in enumerate(params) if type(p) is int and p < 0]
        if [params[i] for i in slots] != stand_ins:
            return None
        names = [*query.extra_select, *query.values_select, *query.annotation_select]
        fields = [s[0] for s in compiler.select[: compiler.col_count]]
        if len(fields) != len(names):
            return None
        converters = [(pos, convs, expression) for pos, (convs, expression) in compiler.get_converters(fields).items()]
        return _Statement(sql, params, slots, names, converters)
