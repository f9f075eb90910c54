"""URL × role rows of period close (关账) (see tests/e2e/access/__init__.py)."""

from tests.e2e.access import GET_405, only

VIEW = {"admin", "finance", "auditor"}

ROWS = {
    "web:periods": ("/periods/", only(VIEW), 302),
    "api:periods": ("/api/v1/periods/", only(VIEW), 401),
    "api:period-close": ("/api/v1/periods/close/", GET_405, 401),
    "api:period-reopen": ("/api/v1/periods/reopen/", GET_405, 401),
}


def objects(*, world, company, customer, users, finance):
    return {}
