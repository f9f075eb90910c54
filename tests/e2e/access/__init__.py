"""Shared vocabulary of the URL × role matrix, and its per-app extensions.

Each module in this package (one per app: credit.py, collections.py, dunning.py, banking.py) defines

    ROWS = {"ns:name": (path template, {role: status}, anonymous status), ...}
    def objects(*, world, company, customer, users, finance) -> dict:  # extra {placeholders}

so apps add their URLs without editing the shared test. Objects must belong to ``customer`` (owned by
sales_east) so that sales_west gets 404 on every object page.
"""

import importlib
import pkgutil

ROLES = ["anon", "admin", "finance", "credit_manager", "collector", "sales_east", "sales_west", "manager_east",
         "legal", "auditor"]
STAFF = ROLES[1:]

OK_ALL = {r: 200 for r in STAFF}
OWN = {**OK_ALL, "sales_west": 404}


def only(codes_ok: set, other=403, west=None):
    out = {r: (200 if r in codes_ok else other) for r in STAFF}
    if west is not None:
        out["sales_west"] = west
    return out


LEDGER_POST = {"admin", "finance"}
EDITORS = {"admin", "finance", "credit_manager", "sales_east", "sales_west", "manager_east"}
TERMS = {"admin", "finance", "credit_manager"}
WO_REQ = {"admin", "finance", "credit_manager", "collector", "legal"}
GET_405 = {r: 405 for r in STAFF}


def post_only(perms: set):
    """POST-only action behind a permission check: 405 for a GET by those allowed, 403 for the rest."""
    return {r: (405 if r in perms else 403) for r in STAFF}



def extensions():
    return [importlib.import_module(f"{__name__}.{m.name}") for m in pkgutil.iter_modules(__path__)]
