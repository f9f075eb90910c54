"""Every staff list sorts (issue 13): a walk over every URL of the access matrix that fails when a page
shows a list (``<table class="list">``) without sortable headers, unless the page is named below with the
reason it is not a list one sorts.

For each sortable page: every header's key sorts both ways (the header says which with ``aria-sort``),
``?sort=-key`` lists the rows of ``?sort=key`` in reverse (rows whose sort cell is empty excepted: empty
values sort last both ways), the filter form carries the sort, the XLSX export takes it, and a key that is
not a column (a field path, SQL) is the default order, never an error.
"""

import html as htmllib
import re

import pytest
from django.core.cache import cache

from tests.e2e.test_access_matrix import MATRIX, world  # noqa: F401  (the fixture: one of every object)

pytestmark = pytest.mark.django_db

# pages whose tables are not lists one sorts, and why
NOT_LISTS = {
    "web:dashboard": "KPI tiles and a few top-N tables, each ordered by what it ranks",
    "web:customer-detail": "a customer's page: small fixed tables (open items by due date, contacts)",
    "web:document-detail": "a document's instalments, in schedule order",
    "web:document-new": "the entry form's schedule table",
    "web:payment-detail": "a payment's allocations, in the order they were made",
    "web:payment-apply": "the allocation form: the customer's open items oldest first (the order of FIFO)",
    "web:aging": "a report: buckets in age order; its drill-down lists the rows behind a bucket",
    "web:customer-statement": "a statement: entries in date order, as sent",
    "web:statement-reply": "the statement the customer confirms, in date order",
    "web:setup": "the company set-up form",
    "web:user-detail": "a user's page: a few fixed facts and their companies",
    "insight:kpis": "a report: one row per group, in the order of the grouping",
    "insight:people": "the salespeople's leaderboard: ranked by the measure chosen in its own sort select",
    "insight:provisions": "a report: the provision by age bucket, in age order",
    "insight:provision-matrix": "the rate matrix (a form table): buckets in age order",
    "insight:warning-rules": "the rules form: one fixed row per kind of warning",
    "insight:commission-rules": "the commission rules, by the date each takes effect (their meaning)",
    "insight:commission-statement": "one statement's lines, in the order of its computation",
    "insight:audit": "the audit report: counts per category; the events of a category page like the search",
    "collections:index": "the worklist is a ranked queue: its order is the rank (the priority formula on the page), "
                         "read tier by tier from a partial index",
    "collections:customer-panel": "a panel of one customer's figures inside the worklist",
    "credit:customer-panel": "a panel of one customer's credit figures",
    "portal-staff:customer": "the customer's portal as the customer sees it (statement order)",
    "collections:customer": "the collector's customer page: open items by due date, the last contacts",
    "collections:case": "a case's page: its claims and events in date order",
    "collections:plan": "a payment plan's instalments, in schedule order",
    "collections:plan-new": "the plan form's schedule table",
    "collections:interest-rules": "the interest rules, by the date each takes effect",
    "credit:index": "the credit overview: a few top-N tables; the full lists are the profiles and the queue",
    "credit:policy": "the policy form: grades in grade order",
    "credit:profile": "a profile's page: limits and requests of one customer in date order",
    "dunning:run": "a run's page: counts by step and channel (the notices are listed on Notices)",
    "dunning:notice": "a notice's page: its items and its deliveries, in letter order",
    "dunning:policies": "each policy's steps, in the order of the ladder (days after the due date)",
    "dunning:policy": "the policy form's steps",
    "dunning:policy-new": "the policy form's steps",
    "dunning:customer": "a customer's dunning settings page",
    "imports:job": "an import's row-by-row report, in file order (row numbers)",
    "banking:line": "a bank line's suggestions, best first",
    "banking:upload-map": "the column-mapping form of an upload",
    "banking:statement": "one statement's lines, in statement order (the reconciliation is read top down)",
    "banking:charges": "twelve months of one year, in month order",
    "integrations:delivery-detail": "one delivery's attempts, in time order",
    "forecast:page": "a report: weeks in time order",
    "forecast:backtest": "a report: weeks in time order",
    "prediction:customer-panel": "a panel of one customer's open items by due date",
    "prediction:document-panel": "a panel of one document's instalments",
    "web:export-list": "the user's own exports, newest first (a few, kept EXPORT_KEEP_DAYS days)",
}

_TABLE = re.compile(r'<table class="list[^"]*"[^>]*>(.*?)</table>', re.S)
_ROW = re.compile(r"(<tr[^>]*>)(.*?)</tr>", re.S)
_CELL = re.compile(r"<t[dh][^>]*>(.*?)</t[dh]>", re.S)
_TAG = re.compile(r"<[^>]+>")


def _text(fragment: str) -> str:
    return " ".join(htmllib.unescape(_TAG.sub(" ", fragment)).split())


def _sortable_table(page: str):
    """The first list table with sortable headers: (its header keys in column order, its body rows)."""
    for table in _TABLE.findall(page):
        head = table.split("</thead>")[0]
        if "data-sort=" not in head:
            continue
        heads = _CELL.findall(head)
        keys = [re.search(r'data-sort="([^"]+)"', h).group(1) if "data-sort=" in h else None for h in heads]
        body = table.split("</thead>")[1].split("</tbody>")[0] if "</thead>" in table else ""
        rows = [_CELL.findall(inner) for tag, inner in _ROW.findall(body) if "empty-row" not in tag]
        return keys, [r for r in rows if r]
    return None, []


def _role_for(expected: dict) -> str | None:
    for role in ("admin", "finance", "credit_manager", "manager_east"):
        if expected.get(role) == 200:
            return role
    return None


def _pages(client, world, users):  # noqa: F811
    """(name, path, role, html) of every staff page a role sees that is an HTML page with a list table."""
    out = []
    for name, (path, expected, _anon) in MATRIX.items():
        if name.startswith(("api:", "portal:")) or name in ("set_language", "web:login"):
            continue
        role = _role_for(expected)
        if role is None:
            continue
        client.force_login(users[role])
        client.cookies["django_language"] = "en"
        url = path.format(**world)
        r = client.get(url)
        if r.status_code != 200 or not r.get("Content-Type", "").startswith("text/html"):
            continue
        page = r.content.decode()
        if '<table class="list' in page:
            out.append((name, url, role, page))
    return out


def _with(url: str, **params) -> str:
    from urllib.parse import urlencode

    return url + ("&" if "?" in url else "?") + urlencode(params)


def test_every_staff_list_is_sortable_or_says_why_not(client, world, users):  # noqa: F811
    cache.clear()
    unknown = sorted(set(NOT_LISTS) - set(MATRIX))
    assert unknown == [], f"NOT_LISTS names pages that no longer exist: {unknown}"
    pages = _pages(client, world, users)
    assert len(pages) > 40  # the walk reached the lists (a broken fixture would make this test vacuous)
    missing = [name for name, _url, _role, page in pages
               if name not in NOT_LISTS and "data-sort=" not in page and "aria-sort=" not in page]
    assert missing == [], f"lists without sortable headers (sort them, or say in NOT_LISTS why not): {missing}"


def test_each_sortable_list_sorts_both_ways_keeps_its_filters_and_ignores_unknown_keys(client, world, users):  # noqa: F811
    cache.clear()
    checked = reversed_rows = exported = 0
    problems = []
    for name, url, role, page in _pages(client, world, users):
        keys, _rows = _sortable_table(page)
        if not keys:
            continue
        client.force_login(users[role])
        for key in [k for k in keys if k]:
            col = keys.index(key)
            seen = {}
            for direction in ("", "-"):
                r = client.get(_with(url, sort=f"{direction}{key}"))
                if r.status_code != 200:
                    problems.append(f"{name} sort={direction}{key}: {r.status_code}")
                    break
                body = r.content.decode()
                state = "descending" if direction else "ascending"
                if not re.search(rf'aria-sort="{state}"><a href="[^"?]*\?[^"]*" data-sort="{key}"', body):
                    problems.append(f"{name} sort={direction}{key}: the header does not say {state}")
                if re.search(r'<form method="get"', body) and not re.search(
                        rf'name="sort"[^>]*value="{direction}{key}"|value="{direction}{key}"[^>]*name="sort"|'
                        rf'<option value="{direction}{key}" selected', body):
                    problems.append(f"{name} sort={direction}{key}: the filter form drops the sort")
                _k, rows = _sortable_table(body)
                seen[direction] = [(_text(row[col]) if col < len(row) else "", _text("".join(row))) for row in rows]
            if len(seen) == 2 and len(seen[""]) >= 2:
                asc = [whole for cell, whole in seen[""] if cell not in ("", "—")]
                desc = [whole for cell, whole in seen["-"] if cell not in ("", "—")]
                if desc != asc[::-1]:
                    problems.append(f"{name} sort={key}: -{key} is not the reverse order ({asc} / {desc})")
                reversed_rows += 1
            checked += 1
        # the list's XLSX export (when the page has one) carries the sort, so it lists the rows in the page's order
        first = next(k for k in keys if k)
        body = client.get(_with(url, sort=f"-{first}")).content.decode()
        exports = [htmllib.unescape(h) for h in re.findall(r'href="([^"]*(?:format=xlsx|export=xlsx|\.xlsx)[^"]*)"', body)
                   if "/templates/" not in h and "/errors.xlsx" not in h]
        if exports:
            link = next((h for h in exports if f"sort=-{first}" in h), None)
            if link is None:
                problems.append(f"{name}: no XLSX link carries sort=-{first} ({exports})")
            else:
                target = link if link.startswith("/") else url.split("?")[0] + link
                r = client.get(target)
                if r.status_code != 200 or "spreadsheetml" not in r.get("Content-Type", ""):
                    problems.append(f"{name}: the export {target} answered {r.status_code}")
                exported += 1
        # a key that is no column: the default order, not an error and never a field lookup
        for bad in ("password", "customer__owner__password", "-id;DROP TABLE x", "--amount", "pk"):
            r = client.get(_with(url, sort=bad))
            if r.status_code != 200 or 'aria-sort="ascending"' not in r.content.decode() and \
                    'aria-sort="descending"' not in r.content.decode():
                problems.append(f"{name} sort={bad!r}: {r.status_code}, no default order shown")
    assert problems == [], "\n".join(problems)
    assert checked > 150 and reversed_rows > 20 and exported > 30, (checked, reversed_rows, exported)
