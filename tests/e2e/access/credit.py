"""URL × role rows of the credit app (see tests/e2e/access/__init__.py)."""

from tests.e2e.access import OK_ALL, OWN  # noqa: F401

ROWS = {
    "credit:index": ("/credit/", OK_ALL, 302),
    "credit:customer-panel": ("/credit/customers/{c}/panel/", OWN, 302),
}


def objects(*, world, company, customer, users, finance) -> dict:
    return {}
