"""URL × role rows of the banking app (see tests/e2e/access/__init__.py)."""

from tests.e2e.access import OK_ALL, OWN  # noqa: F401

ROWS = {
    "banking:index": ("/bank/", OK_ALL, 302),
}


def objects(*, world, company, customer, users, finance) -> dict:
    return {}
