"""URL × role rows of the collections app (see tests/e2e/access/__init__.py)."""

from tests.e2e.access import OK_ALL, OWN  # noqa: F401

ROWS = {
    "collections:index": ("/collections/", OK_ALL, 302),
    "collections:customer-panel": ("/collections/customers/{c}/panel/", OWN, 302),
}


def objects(*, world, company, customer, users, finance) -> dict:
    return {}
