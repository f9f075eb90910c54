"""URL × role rows of the dunning app (see tests/e2e/access/__init__.py)."""

from tests.e2e.access import OK_ALL, OWN  # noqa: F401

ROWS = {
    "dunning:index": ("/dunning/", OK_ALL, 302),
}


def objects(*, world, company, customer, users, finance) -> dict:
    return {}
